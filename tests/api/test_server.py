"""The server closes connections whose request headers never end, and keeps serving everyone else."""

import socket

import httpx
import pytest

from api.app import create_app
from api.server import protocol
from tests.conftest import serving

pytestmark = pytest.mark.slow


def test_half_sent_requests_are_dropped_not_held(real_service):
    app = create_app(real_service.settings, loader=lambda _s: real_service)
    with serving(app, http=protocol(1.0), limit_concurrency=64) as url:
        port = int(url.rsplit(":", 1)[1])
        held = []
        for _ in range(100):  # more than the connection limit
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(b"POST /v1/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n")
            s.settimeout(15)
            held.append(s)
        closed = sum(s.recv(100) == b"" for s in held)  # recv returns b"" once the server closes
        for s in held:
            s.close()
        assert closed == len(held)
        with httpx.Client(base_url=url, timeout=30) as client:  # and a normal client, with keep-alive, is served
            for _ in range(3):
                r = client.post("/v1/ask", json={"question": "Who is the Kremlin spokesperson?"})
                assert r.status_code == 200 and r.json()["answers"]
