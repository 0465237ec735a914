"""GET /metrics: Prometheus text format."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.metrics import CONTENT_TYPE_LATEST

router = APIRouter(tags=["operations"])


@router.get("/metrics", response_class=Response, responses={200: {"content": {"text/plain": {}}}})
def metrics(request: Request) -> Response:
    service = request.app.state.qa.service
    more = (service.metrics.registry,) if service is not None else ()
    return Response(request.app.state.metrics.render(*more), media_type=CONTENT_TYPE_LATEST)
