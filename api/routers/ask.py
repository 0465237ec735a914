"""POST /v1/ask: answer a question with cited spans."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from api.deps import GateDep, ReadKey, ServiceDep
from api.schemas.ask import AskRequest, AskResponse
from api.schemas.errors import error_responses
from qa.serialize import result_dict

router = APIRouter(prefix="/v1", tags=["ask"])


@router.post("/ask", response_model=AskResponse, responses=error_responses(400, 401, 408, 413, 422, 429, 503))
async def ask(body: AskRequest, service: ServiceDep, gate: GateDep, _key: ReadKey, request: Request) -> AskResponse:
    # The models are CPU-bound and blocking: keep them off the event loop, a bounded number at a time.
    async with gate.slot():
        result = await run_in_threadpool(service.pipeline.ask, body.question, body.top_k, body.max_answers)
    request.app.state.metrics.observe_result(result)
    return AskResponse(**result_dict(result))
