"""Durable, atomic writes: a file or a folder is replaced whole or not at all, and survives a power cut."""

from __future__ import annotations

import errno
import os
import shutil
import threading
from pathlib import Path
from typing import Callable


def is_storage_full(exc: BaseException) -> bool:
    """Whether a write failed for want of space (the disk or a quota), as the OS or SQLite reports it."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    # sqlite3.OperationalError / DatabaseError "database or disk is full" (SQLITE_FULL), without importing sqlite3.
    return type(exc).__module__ == "sqlite3" and "disk is full" in str(exc)


def fsync_dir(path: Path) -> None:
    """Make a rename or a new entry in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, rename it over ``path``, fsync the folder."""
    path = Path(path)
    # Unique per process and thread, so two writers never share a temporary file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def append_durable(path: Path, line: str) -> None:
    """Append one line and fsync it (logs of records that must not be lost once acknowledged)."""
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())


def replace_dir(target: Path, write: Callable[[Path], None]) -> None:
    """Fill a fresh folder beside ``target`` with ``write(folder)``, then swap it in for ``target``.

    Between the two renames a crash leaves ``target.old`` (the previous folder) in place, never half a folder.
    """
    target = Path(target)
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    write(tmp)
    old = target.with_name(target.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    fsync_dir(target.parent)
    shutil.rmtree(old, ignore_errors=True)
