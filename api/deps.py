"""FastAPI dependencies: the loaded service, or a 503 naming what is wrong."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from qa.factory import Service


class ServiceState:
    """Holds the service once the lifespan has loaded it, or the reason it could not."""

    def __init__(self) -> None:
        self.service: Service | None = None
        self.error: str | None = "starting: models and index are loading"


def get_state(request: Request) -> ServiceState:
    return request.app.state.qa


def get_service(state: Annotated[ServiceState, Depends(get_state)]) -> Service:
    if state.service is None:
        raise HTTPException(status_code=503, detail=state.error or "service not ready")
    return state.service


ServiceDep = Annotated[Service, Depends(get_service)]
StateDep = Annotated[ServiceState, Depends(get_state)]
