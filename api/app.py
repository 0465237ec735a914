"""App factory: settings are read and models loaded in the lifespan, never at import time."""

from __future__ import annotations

import logging
import time
from contextlib import asynccontextmanager
from typing import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import QuestionTimeout, ServiceState
from api.metrics import Metrics
from api.middleware import Operations
from api.openai_compat import router as openai_router
from api.openai_compat.errors import OPENAI_PATHS, OpenAIError
from api.routers import ask, docs, documents, feedback, health
from api.routers import metrics as metrics_route
from api.web import STATIC_DIR
from api.web import router as web_router
from api.schemas.errors import error_detail, error_message, location
from qa.limits import clean_text
from service.application import Application
from service.gate import Busy
from service.settings import Settings

log = logging.getLogger("qa.api")
# The ids of the Slack events already taken (slackbot.app.SeenEvents), in the index folder.
SLACK_SEEN_FILE = "slack-seen-events.json"
Loader = Callable[[Settings], Application]


def _default_loader(settings: Settings) -> Application:
    # The server never builds a missing index itself: `qa serve` does that before starting.
    return Application.load(settings, build_if_missing=False, log=log.warning)


def create_app(settings: Settings | None = None, loader: Loader | None = _default_loader) -> FastAPI:
    """``loader=None`` skips loading (tests then override ``get_service``)."""
    settings = Settings() if settings is None else settings
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state = ServiceState()
        app.state.qa = state
        if loader is not None:
            started = time.perf_counter()
            try:
                service = await run_in_threadpool(loader, settings)
                # Every model loaded before /readyz says ready (idempotent when the loader already did).
                await run_in_threadpool(service.warm_up)
                service.metrics.model_load.set(time.perf_counter() - started)
                state.service, state.error = service, None
            except Exception as exc:  # Stay up and say why in /readyz and 503s.
                state.error = str(exc)
                log.error("QA service not ready: %s", exc)
        yield

    app = FastAPI(
        title="News QA",
        version="0.1.0",
        description="Extractive question answering over news articles. Every answer is a verbatim span "
        "with a citation: document, paragraph and character offsets.",
        lifespan=lifespan,
        # Swagger UI and ReDoc are served from packaged files (api/routers/docs.py), not from a CDN.
        docs_url=None,
        redoc_url=None,
    )
    app.state.qa = ServiceState()
    app.state.settings = settings
    app.state.metrics = metrics

    def _openai(request: Request) -> bool:
        return request.url.path.startswith(OPENAI_PATHS)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        undecodable = any(e.get("type") == "json_invalid" for e in errors)
        status = 400 if undecodable or _openai(request) else 422
        message = "request body is not valid JSON (UTF-8)" if undecodable else error_message(errors)
        if _openai(request):
            # OpenAI answers malformed requests with 400 and its error object.
            loc = next((".".join(str(p) for p in location(e.get("loc", ()))) for e in errors), None)
            return JSONResponse(status_code=400, content=OpenAIError(400, message, (loc or None) and loc[:100]).body())
        return JSONResponse(status_code=status, content={"message": message, "detail": error_detail(errors)})

    @app.exception_handler(OpenAIError)
    async def _openai_error(request: Request, exc: OpenAIError) -> JSONResponse:
        return JSONResponse(status_code=exc.status, content=exc.body())

    @app.exception_handler(Busy)
    async def _busy(request: Request, exc: Busy) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after_s)}
        if _openai(request):
            return JSONResponse(status_code=503, headers=headers,
                                content=OpenAIError(503, str(exc), type_="server_error").body())
        return JSONResponse(status_code=503, content={"message": str(exc), "detail": str(exc)}, headers=headers)

    @app.exception_handler(QuestionTimeout)
    async def _timeout(request: Request, exc: QuestionTimeout) -> JSONResponse:
        if _openai(request):
            return JSONResponse(status_code=504, content=OpenAIError(504, str(exc), type_="server_error").body())
        return JSONResponse(status_code=504, content={"message": str(exc), "detail": str(exc)})

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = getattr(exc, "headers", None)
        detail = clean_text(str(exc.detail))[:500]
        if exc.status_code == 405:
            # Starlette names only the first matching route's methods; list every route's on this path.
            headers = {**(headers or {}), "Allow": ", ".join(_allowed_methods(app, request.scope))}
        if _openai(request):
            kind = "server_error" if exc.status_code >= 500 else "invalid_request_error"
            return JSONResponse(status_code=exc.status_code, headers=headers,
                                content=OpenAIError(exc.status_code, detail, type_=kind).body())
        return JSONResponse(status_code=exc.status_code, content={"message": detail, "detail": detail}, headers=headers)

    for module in (ask, documents, feedback, health, metrics_route, docs, openai_router, web_router):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.mount(docs.ASSETS_PATH, StaticFiles(directory=docs.ASSETS_DIR), name="docs-assets")
    _mount_slack(app, settings)
    app.add_middleware(Operations, settings=settings, metrics=metrics)
    return app


def _allowed_methods(app: FastAPI, scope) -> list[str]:
    from starlette.routing import Match

    methods: set[str] = set()
    for route in app.routes:
        match, _ = route.matches({**scope, "method": "GET"})
        if match != Match.NONE and getattr(route, "methods", None):
            methods |= set(route.methods)
    return sorted(methods)


def _mount_slack(app: FastAPI, settings: Settings) -> None:
    """The Slack app, only when configured: otherwise /slack/events is a 404 and nothing of Slack loads."""
    if not settings.slack.enabled:
        return
    from slackbot.app import build_app
    from slackbot.route import make_router

    def application() -> Application:
        service = app.state.qa.service
        if service is None:
            raise RuntimeError(app.state.qa.error or "service not ready")
        return service

    # Beside the index: the folder the service keeps what it must not forget in.
    bolt = build_app(settings.slack.signing_secret.get_secret_value(), settings.slack.bot_token.get_secret_value(),
                     application, api_url=settings.slack.api_url,
                     seen_file=settings.index.index_dir / SLACK_SEEN_FILE)
    app.include_router(make_router(bolt))
    log.info("Slack app mounted at /slack/events")
