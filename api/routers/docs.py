"""GET /docs and /redoc from packaged Swagger UI and ReDoc files (fastapi-offline ships them), no CDN."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_PATH = "/docs-assets"
router = APIRouter(include_in_schema=False)


@router.get("/docs")
def swagger() -> HTMLResponse:
    return get_swagger_ui_html(openapi_url="/openapi.json", title="News QA – API",
                               swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
                               swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
                               swagger_favicon_url=f"{ASSETS_PATH}/favicon.png")


@router.get("/redoc")
def redoc() -> HTMLResponse:
    return get_redoc_html(openapi_url="/openapi.json", title="News QA – API", redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
                          redoc_favicon_url=f"{ASSETS_PATH}/favicon.png", with_google_fonts=False)
