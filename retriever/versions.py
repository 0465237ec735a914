"""Versioned index folders: ``DIR/CURRENT`` names the served version, a build writes a new one aside and swaps
the pointer atomically; one writer at a time across processes holds ``DIR/.write.lock``."""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Iterator

from qa.atomic import write_atomic
from retriever.schema import IndexCorrupt


@contextlib.contextmanager
def write_lock(directory: Path) -> Iterator[None]:
    """One writer across processes (replicas share the directory)."""
    with open(Path(directory) / ".write.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def new_version(directory: Path) -> Path:
    """An empty version folder beside the current one, for a full build."""
    directory.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"v-{int(time.time())}-", dir=directory))


def make_current(directory: Path, version: Path, sources: list[str]) -> None:
    """Point ``CURRENT`` at ``version`` (atomically) and remove versions older than the one it replaces: replicas
    still serving that one move over within a second, questions in flight finish on it."""
    previous = current_version(directory)
    write_atomic(directory / "SOURCES.json", json.dumps(sources))
    write_atomic(directory / "CURRENT", version.name)
    for old in directory.glob("v-*"):
        if old.name not in (version.name, previous) and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)


def known_sources(directory: Path) -> list[str] | None:
    """The sources the last saved index was built from, readable even when the index itself is not."""
    try:
        sources = json.loads((directory / "SOURCES.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return [str(s) for s in sources] if isinstance(sources, list) else None


def current_version(directory: Path) -> str | None:
    """The name of the version ``CURRENT`` points to (None without one): replicas compare it to reload."""
    try:
        return (directory / "CURRENT").read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def check_folder(directory: Path) -> None:
    """An index folder that exists as something else (a file) cannot be read or built: say so plainly."""
    if directory.exists() and not directory.is_dir():
        raise IndexCorrupt(f"the index folder {directory} is a file, not a folder; point QA_INDEX_DIR at a folder "
                           "(or move that file away)")
