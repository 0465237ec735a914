"""Liveness (/healthz) and readiness (/readyz) probes."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import StateDep
from api.schemas.health import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
def readyz(state: StateDep):
    if state.service is None:
        return JSONResponse(status_code=503, content=Health(status="not ready", detail=state.error).model_dump())
    return Health(status="ready", index_version=state.service.index.version.name,
                  answer_settings=state.service.settings.answer_fingerprint())
