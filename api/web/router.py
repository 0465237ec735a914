"""GET /: the chat page (plain HTML, CSS and JavaScript; nothing loaded from elsewhere)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from api.web import STATIC_DIR

router = APIRouter(tags=["web"])


@router.get("/", include_in_schema=False)
def chat_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html")


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    # An SVG under the name browsers ask for (they all read SVG icons by their media type).
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})
