"""uvicorn, with a deadline for request headers: connections that never finish their headers are closed.

uvicorn times out idle keep-alive connections but waits forever for headers that never end, so a
client holding many half-sent requests would take every connection slot (QA_MAX_CONNECTIONS).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.h11_impl import H11Protocol


class HeaderDeadlineProtocol(H11Protocol):
    header_timeout: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
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
        super().connection_lost(exc)

    def _headers_too_slow(self) -> None:
        self._deadline = None
        if (self.cycle is None or self.cycle.response_complete) and not self.transport.is_closing():
            self.transport.close()


def protocol(header_timeout: float) -> type[HeaderDeadlineProtocol]:
    return type("HeaderDeadline", (HeaderDeadlineProtocol,), {"header_timeout": header_timeout})


def uvicorn_options(server) -> dict:
    """How ``qa serve`` runs uvicorn (``server``: the settings' server group). Forwarded headers
    (X-Forwarded-For) are trusted only from the proxies in QA_TRUSTED_PROXIES; uvicorn's own default
    trusts loopback, which let any local client pick its own rate-limit bucket."""
    trusted = server.trusted_proxies.strip()
    return {"limit_concurrency": server.max_connections, "timeout_keep_alive": server.keep_alive_s,
            "http": protocol(server.header_timeout_s), "proxy_headers": bool(trusted),
            "forwarded_allow_ips": trusted or None, "log_config": None, "access_log": False}
