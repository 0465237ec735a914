"""Progress of long jobs: a bar with rate and ETA on a terminal, a plain line every few seconds elsewhere."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Call with (done, total); ``close()`` ends the line. tqdm draws the bar when ``stream`` is a terminal."""

    def __init__(self, desc: str, unit: str, stream: TextIO = sys.stderr, every_s: float = 5.0):
        self.desc, self.unit, self.stream, self.every_s = desc, unit, stream, every_s
        self._bar = None
        self._started = time.monotonic()
        self._said = 0.0
        self._first: int | None = None
        self._last = (0, 0)

    def __call__(self, done: int, total: int) -> None:
        if self._first is None:
            self._first = done  # what was already there (a resumed job) does not count in the rate
            self._started = time.monotonic()  # nor does the time spent loading before the first item
        self._last = (done, total)
        if self.stream.isatty():
            if self._bar is None:
                from tqdm import tqdm

                self._bar = tqdm(total=total, initial=done, desc=self.desc, unit=f" {self.unit}", file=self.stream,
                                 dynamic_ncols=True, smoothing=0.1)
            self._bar.total = total
            self._bar.update(done - self._bar.n)
            return
        now = time.monotonic()
        if now - self._said >= self.every_s or done >= total:
            self._said = now
            print(self.line(done, total, now), file=self.stream, flush=True)

    def line(self, done: int, total: int, now: float) -> str:
        seconds = max(now - self._started, 1e-9)
        rate = (done - (self._first or 0)) / seconds
        eta = f", ETA {(total - done) / rate:.0f}s" if rate > 0 and done < total else ""
        share = f" ({100 * done / total:.0f}%)" if total else ""
        return f"{self.desc}: {done}/{total} {self.unit}{share}, {rate:.1f} {self.unit}/s{eta}"

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class EvalRecorder:
    """What a long ``qa eval`` has done so far: progress as it goes, each row written (and flushed) as it comes,
    so that a killed run leaves its rows, and an interrupted one can still print figures for the part done."""

    def __init__(self, total: int, unit: str, rows_path: str | None = None, stream: TextIO = sys.stderr):
        self.total = total
        self.progress = Progress("eval", unit, stream)
        self.rows: list[dict] = []
        self.latencies: list[float] = []
        self._out = open(rows_path, "w", encoding="utf-8") if rows_path else None  # noqa: SIM115 (closed in close)

    def __call__(self, row: dict, latency_ms: float) -> None:
        self.rows.append(row)
        self.latencies.append(latency_ms)
        if self._out is not None:
            import json

            self._out.write(json.dumps({**row, "latency_ms": round(latency_ms, 2)}, ensure_ascii=False) + "\n")
            self._out.flush()
        self.progress(len(self.rows), self.total)

    def close(self) -> None:
        self.progress.close()
        if self._out is not None:
            self._out.close()
            self._out = None
