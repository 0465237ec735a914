"""FastAPI dependencies: the loaded application (or a 503 naming what is wrong) and API keys."""

from __future__ import annotations

import hmac
from typing import Annotated

import anyio
import anyio.to_thread

from qa.deadline import Cancelled, Deadline
from fastapi import Depends, HTTPException, Request

from service.application import Application
from service.settings import Settings

LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class ServiceState:
    """Holds the application once the lifespan has loaded it, or the reason it could not."""

    def __init__(self) -> None:
        self.service: Application | None = None
        self.error: str | None = "starting: models and index are loading"


def get_state(request: Request) -> ServiceState:
    return request.app.state.qa


def get_service(state: Annotated[ServiceState, Depends(get_state)]) -> Application:
    if state.service is None:
        raise HTTPException(status_code=503, detail=state.error or "service not ready", headers={"Retry-After": "5"})
    return state.service


class QuestionTimeout(Exception):
    """A question ran past ``QA_QUESTION_TIMEOUT_S`` (answered 504)."""

    def __init__(self, seconds: float):
        super().__init__(f"the question was not answered within {seconds:g} s; try again, or ask with a smaller top_k")


async def within_deadline(service: Application, request: Request, fn, *args):
    """``fn(*args)`` in a worker thread under the question's deadline (``QA_QUESTION_TIMEOUT_S``).

    Past the deadline the client gets ``QuestionTimeout`` (504) at once, and the worker stops at its next
    check (between the pipeline's stages and the reader's batches), freeing its gate slot. A client that
    goes away meanwhile (checked every 0.2 s) cancels the work the same way."""
    timeout = service.settings.server.question_timeout_s
    deadline = Deadline(timeout)

    def work():
        with deadline.active():
            return fn(*args)

    async def watch_client() -> None:
        while not deadline.cancelled:
            if await request.is_disconnected():
                deadline.cancel()
                return
            await anyio.sleep(0.2)

    outcome: dict = {}
    async with anyio.create_task_group() as group:
        group.start_soon(watch_client)
        try:
            with anyio.fail_after(timeout):
                outcome["result"] = await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
        except TimeoutError:
            outcome["timeout"] = True
        except Cancelled:
            outcome["stopped"] = True
        except Exception as exc:  # noqa: BLE001 - raised again below, outside the task group
            # (inside it, anyio would wrap it in an ExceptionGroup that no handler knows: Busy became a 500)
            outcome["error"] = exc
        finally:
            deadline.cancel()  # ends the watcher; a worker still running stops at its next check
            group.cancel_scope.cancel()
    if "error" in outcome:
        raise outcome["error"]
    if "result" in outcome:
        return outcome["result"]
    raise QuestionTimeout(timeout)


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


def require_feedback_key(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> None:
    """Feedback writes to disk: with keys set it needs one, as every write does. Without keys it stays open
    to the chat page's readers (its size is capped by the body limit and its rate by the per-client limit)."""
    if settings.server.key_list:
        _check(request, settings, write=True)


ServiceDep = Annotated[Application, Depends(get_service)]
StateDep = Annotated[ServiceState, Depends(get_state)]
WriteKey = Annotated[None, Depends(require_write_key)]
ReadKey = Annotated[None, Depends(require_read_key)]
FeedbackKey = Annotated[None, Depends(require_feedback_key)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
