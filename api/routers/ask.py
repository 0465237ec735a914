"""POST /v1/ask: answer a question with cited spans."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from api.deps import ServiceDep
from api.schemas import AskRequest, AskResponse
from qa.serialize import result_dict

router = APIRouter(prefix="/v1", tags=["ask"])


@router.post("/ask", response_model=AskResponse)
async def ask(body: AskRequest, service: ServiceDep) -> AskResponse:
    # The models are CPU-bound and blocking: keep them off the event loop.
    result = await run_in_threadpool(service.pipeline.ask, body.question, body.top_k, body.max_answers)
    return AskResponse(**result_dict(result))
