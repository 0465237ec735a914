"""GET /v1/documents: what the index holds."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ServiceDep
from api.schemas import DocumentList, DocumentOut

router = APIRouter(prefix="/v1", tags=["documents"])


@router.get("/documents", response_model=DocumentList)
def list_documents(service: ServiceDep) -> DocumentList:
    docs = [DocumentOut(id=d.id, title=d.title, url=d.url, published=d.published, paragraphs=d.paragraphs)
            for d in service.index.documents]
    return DocumentList(documents=docs, total=len(docs))
