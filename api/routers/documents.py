"""/v1/documents: list, read, add (JSON article or file upload), replace and delete indexed articles."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from api.deps import ReadKey, ServiceDep, WriteKey
from api.schemas.documents import (ArticleBody, ArticleIn, DocumentDetail, DocumentList, DocumentOut, ParagraphOut,
                                   SourcesOut)
from api.schemas.errors import error_responses
from corpus.loader import SplitDocument
from service.documents import DocumentError, article, parse_upload, under_id
from qa.limits import MAX_LIST_OFFSET, MAX_LIST_PAGE, NONBLANK_PATTERN
from qa.types import DocumentInfo

router = APIRouter(prefix="/v1", tags=["documents"])
ERRORS = error_responses(400, 401, 404, 409, 413, 415, 422, 503)
_UPLOAD_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": ArticleIn.model_json_schema()},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "minLength": 1, "pattern": NONBLANK_PATTERN,
                 "description": "A UTF-8 text file: .txt, .md, .jsonl or .html by its name (or its part's "
                                "Content-Type); anything else is read as plain text"}}}},
}}}
_REPLACE_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": ArticleBody.model_json_schema()},
    "multipart/form-data": _UPLOAD_BODY["requestBody"]["content"]["multipart/form-data"]}}}


# What each kind of refusal is over HTTP.
STATUS = {"invalid": 422, "not_found": 404, "conflict": 409, "unsupported": 415, "too_large": 413}


def _out(d: DocumentInfo) -> DocumentOut:
    return DocumentOut(**d.to_dict())


def refused(exc: DocumentError) -> HTTPException:
    return HTTPException(status_code=STATUS[exc.kind], detail=str(exc))


async def _article(request: Request, model: type[ArticleBody]) -> ArticleBody:
    # Parsed as FastAPI parses a JSON body (json.loads: a lone surrogate escape is valid JSON, and the Text type
    # replaces it), not by pydantic's JSON parser, which refuses it.
    try:
        data = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body",), "msg": "JSON decode error",
                                       "input": {}, "ctx": {"error": str(exc)[:100]}}]) from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from None


@router.get("/documents", response_model=DocumentList)
def list_documents(service: ServiceDep, _key: ReadKey,
                   limit: Annotated[int | None, Query(ge=1, le=MAX_LIST_PAGE, description=(
                       f"At most this many documents (1-{MAX_LIST_PAGE}; default: all of them)"))] = None,
                   offset: Annotated[int, Query(ge=0, le=MAX_LIST_OFFSET, description="Skip this many first")] = 0
                   ) -> DocumentList:
    """The indexed documents in the order they were added; ``total`` counts all of them, whatever the page."""
    docs = [_out(d) for d in service.index.documents(limit, offset)]
    return DocumentList(documents=docs, total=service.index.document_count())


@router.get("/sources", response_model=SourcesOut)
def list_sources(service: ServiceDep, _key: ReadKey) -> SourcesOut:
    """What filters can name: every publisher with its number of documents, and the span of published dates."""
    return SourcesOut(**service.sources())


@router.get("/documents/{doc_id:path}", response_model=DocumentDetail, responses=error_responses(404, 503))
def get_document(doc_id: str, service: ServiceDep, _key: ReadKey) -> DocumentDetail:
    try:
        info, passages = service.documents.get(doc_id)
    except DocumentError as exc:
        raise refused(exc) from None
    return DocumentDetail(**_out(info).model_dump(),
                          paragraphs_text=[ParagraphOut(id=p.id, paragraph=p.paragraph, text=p.text) for p in passages])


async def _upload(request: Request, service) -> list[SplitDocument] | None:
    """The documents of a multipart upload's ``file`` part; None for any other body."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "multipart/form-data":
        if kind not in ("application/json", ""):
            raise DocumentError(f"send application/json or multipart/form-data, not {kind[:60]!r}", kind="unsupported")
        return None
    form = await request.form()
    parts = form.getlist("file")
    if not parts:
        raise DocumentError("multipart body needs a 'file' part")
    if len(parts) > 1:  # all but one would be dropped unseen
        raise DocumentError(f"one 'file' part a request, not {len(parts)} (a .jsonl file holds many articles)")
    upload = parts[0]
    # Parsing takes seconds for large files: off the event loop, so other requests go on meanwhile.
    if isinstance(upload, str):  # a text field rather than a file: plain text
        return await run_in_threadpool(parse_upload, "upload.txt", upload.encode("utf-8", "replace"))
    return await run_in_threadpool(parse_upload, upload.filename or "", await upload.read(), upload.content_type,
                                   service.settings.server.max_html_bytes)


@router.post("/documents", status_code=201, response_model=DocumentList, responses=ERRORS, openapi_extra=_UPLOAD_BODY)
async def add_documents(request: Request, service: ServiceDep, _key: WriteKey) -> DocumentList:
    """Add one article (JSON) or the articles of an uploaded file; answerable as soon as this returns."""
    try:
        docs = await _upload(request, service)
        if docs is None:
            body = await _article(request, ArticleIn)
            docs = [article(body.text, body.title, body.id, body.url, body.published, body.source, body.topics)]
        added = await run_in_threadpool(service.documents.put, docs, False)
    except DocumentError as exc:
        raise refused(exc) from None
    return DocumentList(documents=[_out(d) for d in added], total=len(added))


@router.put("/documents/{doc_id:path}", response_model=DocumentOut, openapi_extra=_REPLACE_BODY,
            responses={**ERRORS, 201: {"model": DocumentOut, "description": "Created (no document had this id)"}})
async def replace_document(doc_id: str, request: Request, service: ServiceDep, _key: WriteKey,
                           response: Response) -> DocumentOut:
    """Create or replace the article with this id (only articles added through this API): JSON, or an uploaded
    file holding one article (what POST took, so a 409 there is answered by the same file here)."""
    try:
        docs = await _upload(request, service)
        if docs is None:
            body = await _article(request, ArticleBody)
            doc = article(body.text, body.title, doc_id, body.url, body.published, body.source, body.topics)
        else:
            doc = under_id(docs, doc_id)
        [(info, created)] = await run_in_threadpool(service.documents.write, [doc], True)
    except DocumentError as exc:
        raise refused(exc) from None
    response.status_code = 201 if created else 200
    return _out(info)


@router.delete("/documents/{doc_id:path}", status_code=204, responses=ERRORS)
async def delete_document(doc_id: str, service: ServiceDep, _key: WriteKey) -> Response:
    try:
        await run_in_threadpool(service.documents.delete, doc_id)
    except DocumentError as exc:
        raise refused(exc) from None
    return Response(status_code=204)
