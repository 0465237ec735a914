"""FastAPI dependencies: the loaded service (or a 503 naming what is wrong), API keys, the model gate."""

from __future__ import annotations

import asyncio
import hmac
from contextlib import asynccontextmanager
from typing import Annotated, AsyncIterator

from fastapi import Depends, HTTPException, Request

from qa.factory import Service
from qa.settings import Settings

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class ServiceState:
    """Holds the service once the lifespan has loaded it, or the reason it could not."""

    def __init__(self) -> None:
        self.service: Service | None = None
        self.error: str | None = "starting: models and index are loading"


def get_state(request: Request) -> ServiceState:
    return request.app.state.qa


def get_service(state: Annotated[ServiceState, Depends(get_state)]) -> Service:
    if state.service is None:
        raise HTTPException(status_code=503, detail=state.error or "service not ready", headers={"Retry-After": "5"})
    return state.service


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return request.headers.get("x-api-key") or None


def key_matches(key: str | None, keys: list[str]) -> bool:
    """Constant-time comparison against every configured key (no early exit that timing could reveal)."""
    found = False
    for k in keys:
        found |= hmac.compare_digest((key or "").encode(), k.encode())
    return found and key is not None


def _check(request: Request, settings: Settings, write: bool) -> None:
    keys = settings.server.key_list
    if not keys:
        client = request.client.host if request.client else ""
        if write and client not in LOOPBACK:
            raise HTTPException(status_code=403, detail="writes from other machines need an API key: set QA_API_KEYS "
                                                        "on the server and send Authorization: Bearer KEY")
        return
    if (write or settings.server.api_keys_for_reads) and not key_matches(presented_key(request), keys):
        raise HTTPException(status_code=401, detail="missing or wrong API key (Authorization: Bearer KEY or X-API-Key)",
                            headers={"WWW-Authenticate": "Bearer"})


def require_write_key(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> None:
    _check(request, settings, write=True)


def require_read_key(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> None:
    _check(request, settings, write=False)


class ModelGate:
    """At most ``limit`` questions on the models at once and ``queued`` waiting (each at most ``wait_s``);
    beyond that, 503 + Retry-After at once, so that a crowd gets quick refusals instead of everyone slowing down."""

    def __init__(self, limit: int, wait_s: float, queued: int | None = None):
        self.wait_s = wait_s
        self.queued = 2 * limit if queued is None else queued
        self._sem = asyncio.Semaphore(limit)
        self._waiting = 0

    def _busy(self) -> HTTPException:
        return HTTPException(status_code=503, detail="busy: too many questions at once; retry shortly",
                             headers={"Retry-After": "1"})

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._sem.locked() and self._waiting >= self.queued:
            raise self._busy()
        self._waiting += 1
        try:
            await asyncio.wait_for(self._sem.acquire(), timeout=self.wait_s)
        except asyncio.TimeoutError:
            raise self._busy() from None
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            self._sem.release()


def get_gate(request: Request) -> ModelGate:
    return request.app.state.gate


ServiceDep = Annotated[Service, Depends(get_service)]
StateDep = Annotated[ServiceState, Depends(get_state)]
GateDep = Annotated[ModelGate, Depends(get_gate)]
WriteKey = Annotated[None, Depends(require_write_key)]
ReadKey = Annotated[None, Depends(require_read_key)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
