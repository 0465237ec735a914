"""POST /slack/events: Slack's requests handed to the Bolt app (off the event loop: it may call Slack)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response


def make_router(bolt_app: App) -> APIRouter:
    router = APIRouter(tags=["slack"])

    @router.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        return to_starlette_response(await run_in_threadpool(bolt_app.dispatch, to_bolt_request(request, body)))

    return router
