"""The web chat page: static files served by the app, talking to /v1/chat/completions."""

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
