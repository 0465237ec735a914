"""A question's time budget, checked between batches of model work, so that late or abandoned work stops."""

from __future__ import annotations

import contextlib
import threading
import time
from contextvars import ContextVar
from typing import Iterator


class Cancelled(Exception):
    """The question's work was stopped: past its deadline, or its client went away."""


class Deadline:
    """When a question's work must stop (monotonic seconds), or ``cancel()`` to stop it now (client gone)."""

    def __init__(self, seconds: float):
        self.expires_at = time.monotonic() + seconds
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def check(self) -> None:
        if self._cancelled.is_set():
            raise Cancelled("the question was abandoned")
        if time.monotonic() > self.expires_at:
            raise Cancelled("the question ran past its deadline")

    @contextlib.contextmanager
    def active(self) -> Iterator["Deadline"]:
        """Make this the deadline that ``check()`` sees in this thread (the worker that does the work)."""
        token = _current.set(self)
        try:
            yield self
        finally:
            _current.reset(token)


_current: ContextVar[Deadline | None] = ContextVar("qa_deadline", default=None)


def check() -> None:
    """Raise ``Cancelled`` if the current question's deadline passed or it was abandoned; no deadline: nothing."""
    deadline = _current.get()
    if deadline is not None:
        deadline.check()
