"""ASGI middleware: request ids and JSON access logs, metrics, rate limits, body size and slow-body limits."""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import logging
import math
import re
import time
import uuid

from api.deps import key_matches, presented_key
from qa.atomic import is_storage_full
from api.metrics import Metrics
from api.openai_compat.errors import OPENAI_PATHS, OpenAIError
from service.settings import Settings

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
access_log = logging.getLogger("qa.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# The status recorded (metrics, access log) for a request whose client went away before it was answered.
CLIENT_GONE = 499


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every log record (JSON logs carry it as a field)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def error_body(status: int, message: str, path: str, kind: str | None = None) -> bytes:
    """An error as the API answers it on ``path``: {"message", "detail"}, or OpenAI's error object on its routes."""
    if path.startswith(OPENAI_PATHS):
        kind = kind or ("rate_limit_exceeded" if status == 429 else "invalid_request_error")
        body = OpenAIError(status, message, type_=kind).body()
    else:
        body = {"message": message, "detail": message}
    return json.dumps(body).encode()


async def _reply(send, status: int, message: str, path: str, headers: dict[str, str] | None = None,
                 kind: str | None = None) -> None:
    data = error_body(status, message, path, kind)
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})


class TokenBuckets:
    """Per-client token buckets: ``per_minute`` requests a minute, bursts up to the same number."""

    def __init__(self, per_minute: int):
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, client: str, now: float) -> float:
        """0 if allowed, else the seconds to wait."""
        tokens, last = self._buckets.get(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._buckets[client] = (tokens - 1, now)
            if len(self._buckets) > 50_000:  # forget the idle ones
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60}
            return 0.0
        self._buckets[client] = (tokens, now)
        return (1 - tokens) / self.rate


class Operations:
    """One pure-ASGI layer (so streaming responses pass through untouched)."""

    def __init__(self, app, settings: Settings, metrics: Metrics):
        self.app, self.settings, self.metrics = app, settings, metrics
        self.buckets = TokenBuckets(settings.server.rate_limit_per_minute) if settings.server.rate_limit_per_minute else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        incoming = headers.get("x-request-id", "")
        rid = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        path, method = scope.get("path", ""), scope.get("method", "")
        started = time.perf_counter()
        status_box = {"status": 500}
        receive = _watched(receive, status_box)

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status_box["status"], status_box["started"] = message["status"], True
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", rid.encode())]}
            await send(message)

        try:
            refused = self._rate_limited(scope, headers, path)
            if refused is not None:
                self.metrics.rejected.labels("rate_limit").inc()
                await _reply(send_with_id, 429, "too many requests; slow down", path,
                             {"Retry-After": str(max(1, math.ceil(refused)))})
                return
            if method in ("POST", "PUT", "PATCH"):
                body = await self._read_body(receive, headers, path, send_with_id)
                if body is None:
                    return
                receive = _replay(body, receive)
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:
                if is_storage_full(exc) and not status_box.get("started"):
                    # Not a bug: the disk (or quota) is full. Said plainly, and nothing was acknowledged.
                    access_log.error("storage full on %s %s: %s", method, path[:200], exc, extra={"request_id": rid})
                    await _reply(send_with_id, 507, "storage full: no space left where the service writes; the "
                                 "request was not completed (free some space and send it again)", path,
                                 {"Connection": "close"}, kind="server_error")
                    return
                # A bug, not the client's fault: logged with its traceback and this request's id, answered
                # without details, and the connection closed cleanly (the client opens a fresh one).
                access_log.exception("unhandled error on %s %s", method, path[:200], extra={"request_id": rid})
                if status_box.get("started"):
                    raise
                await _reply(send_with_id, 500, "internal error; it has been logged", path,
                             {"Connection": "close"}, kind="server_error")
        finally:
            if status_box.get("gone"):
                # The client hung up before any answer (mid-body, or while its question ran; a half-close is one
                # too, as uvicorn reads it): nothing reached it, and it is not the server's failure (500) nor a
                # timeout (504). 499, as nginx names it.
                status_box["status"] = CLIENT_GONE
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.observe_request(method, route, status_box["status"], seconds)
            access_log.info("request", extra={"request_id": rid,
                "method": method, "path": path[:200], "route": route, "status": status_box["status"],
                "ms": round(seconds * 1000, 2), "client": (scope.get("client") or ("-",))[0]})
            request_id.reset(token)

    def _rate_limited(self, scope, headers: dict[str, str], path: str) -> float | None:
        if self.buckets is None or not path.startswith("/v1/"):
            return None
        key = presented_key(_HeaderView(headers))
        # Only a real key gets its own bucket: made-up keys would otherwise dodge the per-address limit.
        if key and key_matches(key, self.settings.server.key_list):
            client = "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]
        else:
            client = "ip:" + (scope.get("client") or ("-",))[0]
        wait = self.buckets.take(client, time.monotonic())
        return wait if wait > 0 else None

    async def _read_body(self, receive, headers: dict[str, str], path: str, send) -> bytes | None:
        """The whole body within the size limit and the time limit; None after answering 413/408/400."""
        server = self.settings.server
        limit = (server.max_upload_bytes if path.startswith("/v1/documents") else
                 server.max_chat_body_bytes if path.startswith("/v1/chat/") else server.max_body_bytes)

        async def too_large() -> None:
            self.metrics.rejected.labels("too_large").inc()
            await _reply(send, 413, f"request body over the limit of {limit} bytes", path)

        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                await _reply(send, 400, "invalid Content-Length", path)
                return None
            if int(declared) > limit:
                return await too_large()
        chunks, size = [], 0
        deadline = time.monotonic() + server.body_timeout_s
        while True:
            try:
                message = await asyncio.wait_for(receive(), timeout=max(0.01, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                self.metrics.rejected.labels("slow_body").inc()
                # Closed: the rest of the body would otherwise keep the connection (and its slot) until the
                # header deadline.
                await _reply(send, 408, f"request body not received within {server.body_timeout_s:g} s", path,
                             {"Connection": "close"})
                return None
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return await too_large()
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


class _HeaderView:
    """Just enough of a Request for ``presented_key``."""

    def __init__(self, headers: dict[str, str]):
        self.headers = headers


def _watched(receive, status_box: dict):
    """``receive``, noting in ``status_box`` a client that went away before the response began."""
    async def watched():
        message = await receive()
        if message["type"] == "http.disconnect" and not status_box.get("started"):
            status_box["gone"] = True
        return message

    return watched


def _replay(body: bytes, receive):
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect, as Starlette expects

    return replay
