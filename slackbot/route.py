"""POST /slack/events: Slack's requests handed to the Bolt app (off the event loop: it may call Slack)."""

from __future__ import annotations

import json
import urllib.parse

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from fastapi.concurrency import run_in_threadpool
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response


# Slack's challenges are short random strings; anything longer is not Slack (and is not echoed back).
MAX_CHALLENGE_CHARS = 100


def malformed(headers, body: bytes) -> tuple[int, str] | None:
    """Why a request cannot be Slack's (status, message), checked before Bolt sees it; None if it may be."""
    stamp = headers.get("x-slack-request-timestamp", "")
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        return 401, "missing or invalid X-Slack-Request-Timestamp"
    try:
        text = body.decode("utf-8")
        if text.lstrip().startswith("{"):
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            if len(str(data.get("challenge", ""))) > MAX_CHALLENGE_CHARS:
                return 400, "challenge too long"
        else:
            form = urllib.parse.parse_qs(text, strict_parsing=bool(text))
            if "payload" in form and not isinstance(json.loads(form["payload"][0]), dict):
                raise ValueError("payload is not an object")
    except (UnicodeDecodeError, ValueError, RecursionError):
        return 400, "malformed Slack request body"
    return None


def make_router(bolt_app: App) -> APIRouter:
    router = APIRouter(tags=["slack"])

    @router.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        refused = malformed(request.headers, body)
        if refused is not None:
            return JSONResponse(status_code=refused[0], content={"message": refused[1], "detail": refused[1]})
        return to_starlette_response(await run_in_threadpool(bolt_app.dispatch, to_bolt_request(request, body)))

    return router
