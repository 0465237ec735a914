"""POST /v1/ask: answer a question with cited spans."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from api.deps import ServiceDep
from api.schemas import AnswerOut, AskRequest, AskResponse, CitationOut, PassageOut

router = APIRouter(prefix="/v1", tags=["ask"])


@router.post("/ask", response_model=AskResponse)
async def ask(body: AskRequest, service: ServiceDep) -> AskResponse:
    # The models are CPU-bound and blocking: keep them off the event loop.
    result = await run_in_threadpool(service.pipeline.ask, body.question, body.top_k, body.max_answers)
    return AskResponse(
        question=result.question,
        answers=[
            AnswerOut(text=a.text, score=a.score, passage_id=a.passage_id, citation=CitationOut(**vars(a.citation)))
            for a in result.answers
        ],
        no_answer=result.no_answer,
        passages=[
            PassageOut(id=sp.passage.id, doc_id=sp.passage.doc_id, title=sp.passage.title,
                       paragraph=sp.passage.paragraph, text=sp.passage.text, score=round(sp.score, 4))
            for sp in result.passages
        ],
        timings_ms=result.timings_ms,
    )
