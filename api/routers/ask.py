"""POST /v1/ask: answer a question with cited spans."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import ReadKey, ServiceDep, within_deadline
from api.schemas.ask import AskRequest, AskResponse
from api.routers.documents import refused
from api.schemas.errors import error_responses
from api.schemas.filters import scope_of
from service.documents import DocumentError

router = APIRouter(prefix="/v1", tags=["ask"])


@router.post("/ask", response_model=AskResponse, responses=error_responses(400, 401, 404, 408, 413, 422, 429, 503, 504))
async def ask(body: AskRequest, request: Request, service: ServiceDep, _key: ReadKey) -> AskResponse:
    # The models are CPU-bound and blocking: off the event loop; the application's gate bounds how many at once.
    try:
        result = await within_deadline(service, request, service.ask, body.question, body.top_k, body.max_answers,
                                       "api", scope_of(body.filters, body.recency_half_life_days, body.doc_ids))
    except DocumentError as exc:
        raise refused(exc) from None
    return AskResponse(**result.to_dict())
