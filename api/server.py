"""uvicorn, with the limits its HTTP/1.1 protocol lacks: deadlines for headers and for a client that does not read.

uvicorn times out idle keep-alive connections but waits forever for headers that never end, so a
client holding many half-sent requests would take every connection slot (QA_MAX_CONNECTIONS). It also
queues a whole answer for a client that reads none of it, for as long as the client stays connected; accepts a
body framed both by Content-Length and by chunks (request smuggling); and refuses past its connection limit
in plain text. This protocol puts deadlines on the first two, refuses the third (RFC 9112 section 6.1) and
answers the last in the API's error shape, counted with the app's other refusals.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from api.middleware import error_body
from service.settings import ServerSettings

log = logging.getLogger("qa.server")
# What one connection may queue, whatever the size of its answer: an answer is handed over this much at a time,
# the next piece only once the last has gone to the kernel ...
WRITE_CHUNK_BYTES = 64 * 1024
# ... whose send buffer for the connection is asked to be this size (Linux doubles it for its bookkeeping).
# Left to itself Linux grows it to 4 MB (tcp_wmem), all of it held for a client that reads nothing, and a
# write that never waits never shows that the client stopped reading. 128 KB in flight still fills a
# 10 Mbit/s link at 100 ms round trip, and a proxy on the same machine far more.
SEND_BUFFER_BYTES = 64 * 1024
# Seconds a client refused for want of a connection slot is asked to wait: slots of idle or stalled
# connections come back within the keep-alive, header and write deadlines.
RETRY_AFTER_S = 1


class _Framing(h11.Connection):
    """h11, refusing a request that frames its body twice: with Content-Length and Transfer-Encoding, h11 reads
    the chunks, while a proxy in front may read Content-Length and forward what follows as another request."""

    refusal: tuple[str, str] | None = None  # (message, path) of the request refused

    def next_event(self):
        event = super().next_event()
        if isinstance(event, h11.Request):
            names = {name for name, _ in event.headers}
            if b"content-length" in names and b"transfer-encoding" in names:
                path = event.target.decode("latin-1").split("?", 1)[0]
                self.refusal = ("a request may not have both Content-Length and Transfer-Encoding", path)
                raise h11.RemoteProtocolError(self.refusal[0], error_status_hint=400)
        return event


class HeaderDeadlineProtocol(H11Protocol):
    """uvicorn's h11 protocol with this module's deadlines, framing check and refusals."""

    header_timeout: float = 10.0
    write_timeout: float = ServerSettings.model_fields["write_timeout_s"].default

    def __init__(self, config, server_state, app_state, _loop=None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        size = config.h11_max_incomplete_event_size  # as uvicorn gives it to its own h11 connection
        self.conn = _Framing(h11.SERVER, **({} if size is None else {"max_incomplete_event_size": size}))
        # uvicorn's own refusal past the limit is plain text; ``_admit`` refuses in the API's shape instead.
        self.connection_limit, self.limit_concurrency = self.limit_concurrency, None
        self._app, self.app = self.app, self._admit
        # create_app keeps its metrics on app.state; another app's refusals are made all the same, uncounted.
        self._metrics = getattr(getattr(config.app, "state", None), "metrics", None)
        self._stall: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Paused as soon as anything waits in this process: the kernel's socket buffer is the queue, and
        # ``_paced`` hands over an answer a piece at a time, each after the one before has gone to the kernel.
        transport.set_write_buffer_limits(high=0, low=0)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        self._arm()

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if getattr(self, "_deadline", None) is not None:
            self._deadline.cancel()
            self._deadline = None

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not None and not self.cycle.response_complete:
            self._disarm()  # the headers are in: the app (and its body timeout) takes over

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._disarm()
            self._arm()  # the next request on this connection gets the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._unwatch_writes()
        super().connection_lost(exc)

    def _headers_too_slow(self) -> None:
        self._deadline = None
        if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        """A request h11 could not take (or ``_Framing`` refused): 400 in the API's error shape, then closed."""
        message, path = self.conn.refusal or (msg, "")
        data = error_body(400, message, path)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                   (b"connection", b"close")]
        for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"), h11.Data(data=data),
                      h11.EndOfMessage()):
            self.transport.write(self.conn.send(event))
        self.transport.close()

    async def _admit(self, scope, receive, send) -> None:
        limit = self.connection_limit
        # uvicorn's test, but this request's own task is already among the server's tasks: ">", not ">=".
        if limit is not None and (len(self.connections) >= limit or len(self.tasks) > limit):
            return await self._refuse(scope, send)
        await self._app(scope, receive, self._paced(self._unless_gone(send)))

    def _unless_gone(self, send):
        """``send``, letting a connection that failed under a write be closed before the next write.

        A client that resets mid-answer fails a write; asyncio then closes the transport and queues
        ``connection_lost``, which is what tells uvicorn that the client is gone. An answer sent as many messages
        without a pause (a stream of SSE chunks) would keep writing meanwhile, and asyncio logs a warning for
        every write past the fifth ("socket.send() raised exception.": hundreds for a dozen resets)."""
        async def unless_gone(message) -> None:
            if self.transport.is_closing():
                await asyncio.sleep(0)  # one turn of the loop: the queued connection_lost runs first
            await send(message)
        return unless_gone

    async def _refuse(self, scope, send) -> None:
        log.warning("refused a request: %d connections open, the limit is %d (QA_MAX_CONNECTIONS)",
                    len(self.connections), self.connection_limit)
        if self._metrics is not None:
            self._metrics.rejected.labels("connections").inc()
        data = error_body(503, "server busy: too many open connections; try again shortly", scope.get("path", ""),
                          kind="server_error")
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode()),
                   (b"retry-after", str(RETRY_AFTER_S).encode()), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    @staticmethod
    def _paced(send):
        """``send``, with a large body handed over in pieces: uvicorn waits for a paused connection between
        messages, not within one, so a whole answer would otherwise be queued for a client that reads none of it."""
        async def paced(message) -> None:
            body = message.get("body", b"") if message["type"] == "http.response.body" else b""
            if len(body) <= WRITE_CHUNK_BYTES:
                return await send(message)
            more = message.get("more_body", False)
            for start in range(0, len(body), WRITE_CHUNK_BYTES):
                end = start + WRITE_CHUNK_BYTES
                await send({"type": "http.response.body", "body": body[start:end],
                            "more_body": more or end < len(body)})
        return paced

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._stall is None:
            self._watch_writes(self.transport.get_write_buffer_size())

    def resume_writing(self) -> None:
        super().resume_writing()
        self._unwatch_writes()

    def _watch_writes(self, queued: int) -> None:
        self._stall = self.loop.call_later(self.write_timeout, self._writes_stalled, queued)

    def _unwatch_writes(self) -> None:
        if self._stall is not None:
            self._stall.cancel()
            self._stall = None

    def _writes_stalled(self, queued_before: int) -> None:
        self._stall = None
        queued = self.transport.get_write_buffer_size()
        if queued < queued_before:  # some of it went out: a slow reader, not one that never reads
            self._watch_writes(queued)
            return
        log.warning("closed a connection whose client read nothing for %g s (QA_WRITE_TIMEOUT_S)", self.write_timeout)
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            # A reset, not a FIN: a FIN would wait behind the unsent bytes for a reader that never comes, and the
            # kernel would keep them; linger 0 drops them.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()


def protocol(header_timeout: float,
             write_timeout: float = HeaderDeadlineProtocol.write_timeout) -> type[HeaderDeadlineProtocol]:
    return type("HeaderDeadline", (HeaderDeadlineProtocol,),
                {"header_timeout": header_timeout, "write_timeout": write_timeout})


def uvicorn_options(server) -> dict:
    """How ``qa serve`` runs uvicorn (``server``: the settings' server group). Forwarded headers
    (X-Forwarded-For) are trusted only from the proxies in QA_TRUSTED_PROXIES; uvicorn's own default
    trusts loopback, which let any local client pick its own rate-limit bucket."""
    trusted = server.trusted_proxies.strip()
    return {"limit_concurrency": server.max_connections, "timeout_keep_alive": server.keep_alive_s,
            "http": protocol(server.header_timeout_s, server.write_timeout_s), "proxy_headers": bool(trusted),
            "forwarded_allow_ips": trusted or None, "log_config": None, "access_log": False}
