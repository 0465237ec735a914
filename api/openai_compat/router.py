"""POST /v1/chat/completions (plain and SSE streaming) and GET /v1/models, as OpenAI clients expect."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import AsyncIterator

from fastapi import APIRouter, Request

from fastapi.responses import StreamingResponse

from api.deps import ReadKey, ServiceDep, within_deadline
from api.openai_compat.errors import OpenAIError
from api.openai_compat.schemas import ChatCompletion, ChatCompletionRequest, ChatMessage, ErrorResponse, ModelCard, ModelList
from qa.limits import QUESTION_MAX_CHARS, check_question
from chat.render import message
from chat.rewrite import Turn
from chat.turns import Message, turns_of
from service.documents import DocumentError

router = APIRouter(prefix="/v1", tags=["openai"])
# The service has one model; its creation time is when this process started.
_STARTED = int(time.time())
ERRORS = {400: {"model": ErrorResponse, "description": "Invalid request (OpenAI error object)"},
          401: {"model": ErrorResponse, "description": "Missing or wrong API key (when reads need keys)"},
          408: {"model": ErrorResponse, "description": "Request body too slow"},
          413: {"model": ErrorResponse, "description": "Request body too large"},
          429: {"model": ErrorResponse, "description": "Rate limited (Retry-After)"},
          503: {"model": ErrorResponse, "description": "Not loaded yet, or busy (Retry-After)"},
          504: {"model": ErrorResponse, "description": "Not answered within QA_QUESTION_TIMEOUT_S"}}

NEEDS_QUESTION = "Ask me a question about the indexed articles."
# Messages before the question that are read: follow-ups refer to the last few turns, and a chat UI's long history
# must cost no more than a short one.
READ_MESSAGES = 40


def conversation(messages: list[ChatMessage]) -> tuple[list[Turn], str]:
    """Earlier (question, answer) turns (of the last ``READ_MESSAGES`` messages) and the last user question;
    system and tool messages are skipped."""
    turns = turns_of(Message(m.role, m.text, tuple(a) if (a := getattr(m, "answers", None)) is not None else None)
                     for m in messages[-READ_MESSAGES - 1:-1])
    last = messages[-1]
    return turns, last.text if last.role == "user" else ""


def _words(text: str) -> int:
    return len(text.split())


def _stopped(text: str, stops: list[str]) -> str:
    """The text up to the first of the stop sequences (not included), as OpenAI ends a reply."""
    cut = min((i for i in (text.find(seq) for seq in stops) if i >= 0), default=len(text))
    return text[:cut]


def _as_json(extras: dict, text: str) -> str:
    """JSON mode's reply: the answer and its citations as one object (the same fields the response carries)."""
    cites = extras.get("citations") or []
    return json.dumps({"answer": cites[0]["text"] if cites else None, "score": cites[0]["score"] if cites else None,
                       "no_answer": extras.get("no_answer", True), "question": extras.get("question"),
                       "citations": [{k: c[k] for k in ("index", "text", "score", "citation")} for c in cites],
                       "message": text}, ensure_ascii=False)


def _cut(text: str, limit: int | None) -> tuple[str, str]:
    """The text within ``limit`` words, and OpenAI's finish_reason for it."""
    if limit is None or _words(text) <= limit:
        return text, "stop"
    pieces = re.findall(r"\S+\s*", text)
    return "".join(pieces[:limit]).rstrip(), "length"


@router.get("/models", response_model=ModelList, responses=ERRORS)
def list_models(service: ServiceDep, _key: ReadKey) -> ModelList:
    return ModelList(data=[ModelCard(id=service.settings.server.chat_model, created=_STARTED, owned_by="news-qa")])


@router.get("/models/{model_id}", response_model=ModelCard, responses={404: {"model": ErrorResponse}, **ERRORS})
def get_model(model_id: str, service: ServiceDep, _key: ReadKey) -> ModelCard:
    if model_id != service.settings.server.chat_model:
        raise OpenAIError(404, f"The model '{model_id[:100]}' does not exist", "model", "model_not_found")
    return ModelCard(id=model_id, created=_STARTED, owned_by="news-qa")


@router.post("/chat/completions", response_model=ChatCompletion, responses={
    **ERRORS, 404: {"model": ErrorResponse, "description": "A doc_ids entry is not an indexed document, or the filters match none"}, 200: {"content": {"text/event-stream": {}},
                    "description": "A chat.completion, or with stream=true Server-Sent Events of chat.completion.chunk"}})
async def chat_completions(body: ChatCompletionRequest, request: Request, service: ServiceDep, _key: ReadKey):
    history, raw = conversation(body.messages)
    try:
        question = check_question(raw)
    except ValueError as exc:
        # Nothing to answer (the conversation does not end with a question, or it is too long): say so
        # as the assistant, as chat UIs expect, rather than fail the whole conversation.
        reply, text = None, f"{NEEDS_QUESTION} ({exc})" if raw.strip() else NEEDS_QUESTION
    else:
        try:
            reply = await within_deadline(service, request, service.chat, history, question, None, None, "openai",
                                          body.scope())
        except DocumentError as exc:  # a doc_ids entry that is not indexed, or filters that match nothing
            raise OpenAIError(404, str(exc), "doc_ids" if str(exc).startswith("doc_ids") else "filters",
                              "document_not_found") from None
        text = message(reply)
    extras = (reply.to_dict() if reply is not None
              else {"question": raw[:QUESTION_MAX_CHARS], "no_answer": True, "citations": [], "closest": None})
    if body.response_format is not None and body.response_format.type == "json_object":
        content, finish = _as_json(extras, text), "stop"  # never cut: a cut object would not parse
    else:
        limit = body.max_completion_tokens if body.max_completion_tokens is not None else body.max_tokens
        content, finish = _cut(_stopped(text, body.stops()), limit)
    cid, created, model = f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), service.settings.server.chat_model
    prompt_tokens = sum(_words(m.text) for m in body.messages)
    usage = {"prompt_tokens": prompt_tokens, "completion_tokens": _words(content),
             "total_tokens": prompt_tokens + _words(content)}
    if not body.stream:
        return {"id": cid, "object": "chat.completion", "created": created, "model": model,
                "system_fingerprint": None,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                             "finish_reason": finish, "logprobs": None}],
                "usage": usage, **extras}

    def chunk(delta: dict, finish_reason: str | None = None, **more) -> str:
        data = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "system_fingerprint": None,
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}], **more}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    async def events() -> AsyncIterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        for piece in re.findall(r"\s*\S+", content):
            yield chunk({"content": piece})
        # The structured citations ride on the last chunk, once the text they number is complete.
        yield chunk({}, finish, **extras)
        if body.stream_options is not None and body.stream_options.include_usage:
            yield f"data: {json.dumps({'id': cid, 'object': 'chat.completion.chunk', 'created': created, 'model': model, 'choices': [], 'usage': usage})}\n\n"
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
