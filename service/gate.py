"""The model gate: at most N questions on the models at once, M more waiting, the rest refused at once."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator


class Busy(Exception):
    """Every model slot is taken and the queue is full (or the wait ran out): retry shortly."""

    retry_after_s = 1

    def __init__(self) -> None:
        super().__init__("busy: too many questions at once; retry shortly")


class ModelGate:
    """At most ``limit`` questions on the models at once and ``queued`` waiting (each at most ``wait_s``);
    beyond that, ``Busy`` at once, so that a crowd gets quick refusals instead of everyone slowing down.

    Thread-based, because every channel asks from a worker thread (the HTTP routes through the thread pool,
    Bolt's handlers in their own threads, the CLI in its main thread).
    """

    def __init__(self, limit: int, wait_s: float, queued: int | None = None):
        self.limit = limit
        self.wait_s = wait_s
        self.queued = 2 * limit if queued is None else queued
        self._slots = threading.BoundedSemaphore(limit)
        self._lock = threading.Lock()
        self._running = 0
        self._waiting = 0

    @property
    def running(self) -> int:
        """Questions on the models now."""
        with self._lock:
            return self._running

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._lock:
            if self._running >= self.limit and self._waiting >= self.queued:
                raise Busy()
            self._waiting += 1
        acquired = self._slots.acquire(timeout=self.wait_s)
        with self._lock:
            self._waiting -= 1
            if acquired:
                self._running += 1
        if not acquired:
            raise Busy()
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
            self._slots.release()
