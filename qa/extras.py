"""Optional extras: a one-line refusal naming the extra to install when a setting needs one that is missing."""

from __future__ import annotations

from importlib.util import find_spec


class MissingExtra(ValueError):
    """A setting needs an optional extra that is not installed.

    A ValueError, because every command and the service already report those as one line (``error: ...``)."""


def require(extra: str, modules: tuple[str, ...], what: str) -> None:
    """Raise ``MissingExtra`` unless every module is importable; finds them without importing them (PyTorch alone
    takes seconds to import)."""
    missing = [m for m in modules if find_spec(m) is None]
    if missing:
        raise MissingExtra(f"{what} needs the '{extra}' extra ({', '.join(missing)} not installed): "
                           f"pip install -e '.[{extra}]'")
