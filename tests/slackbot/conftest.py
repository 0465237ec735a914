"""A small local fake of Slack's Web API (and response URLs), and signed request builders."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

SECRET = "test-signing-secret-8f2e"
TOKEN = "xoxb-test-token-77"
BOT_USER = "UBOT"


class FakeSlack:
    """Records every call; answers auth.test, chat.postMessage, conversations.* and response URLs."""

    def __init__(self, delay_s: float = 0.0, status: int = 200):
        # A slow or failing Slack: every call waits delay_s, then answers with this HTTP status.
        self.delay_s, self.status = delay_s, status
        self.calls: list[tuple[str, dict]] = []
        self.history: list[dict] = []
        self.cond = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _body(self) -> dict:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0)).decode()
                query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
                if "json" in (self.headers.get("content-type") or ""):
                    return {**query, **json.loads(raw or "{}")}
                return {**query, **dict(urllib.parse.parse_qsl(raw))}

            def _answer(self):
                path = urllib.parse.urlsplit(self.path).path
                body = self._body()
                body["_auth"] = self.headers.get("authorization")
                with fake.cond:
                    fake.calls.append((path, body))
                    fake.cond.notify_all()
                time.sleep(fake.delay_s)
                if fake.status != 200:
                    self.send_response(fake.status)
                    self.send_header("content-length", "0")
                    self.end_headers()
                    return
                reply = {"ok": True}
                if path.endswith("auth.test"):
                    reply.update(user_id=BOT_USER, bot_id="BBOT", team_id="T1", user="newsqa")
                elif path.endswith("chat.postMessage"):
                    reply.update(ts=f"{time.time():.6f}", channel=body.get("channel"))
                elif path.endswith(("conversations.replies", "conversations.history")):
                    reply.update(messages=fake.history)
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def posts(self, suffix: str) -> list[dict]:
        with self.cond:
            return [body for path, body in self.calls if path.endswith(suffix)]

    def wait_for(self, suffix: str, count: int = 1, timeout: float = 30) -> list[dict]:
        deadline = time.time() + timeout
        with self.cond:
            while len([1 for p, _ in self.calls if p.endswith(suffix)]) < count and time.time() < deadline:
                self.cond.wait(timeout=0.2)
        return self.posts(suffix)

    def reset(self):
        with self.cond:
            self.calls.clear()
            self.history = []


def signed(body: str, secret: str = SECRET, timestamp: int | None = None) -> dict:
    """Slack's headers: v0 HMAC-SHA256 of ``v0:timestamp:body``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    sig = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}


def event_body(event: dict, event_id: str) -> str:
    return json.dumps({"token": "legacy", "team_id": "T1", "api_app_id": "A1", "type": "event_callback",
                       "event_id": event_id, "event_time": int(time.time()), "event": event})


@pytest.fixture(scope="session")
def fake_slack():
    fake = FakeSlack()
    yield fake
    fake.server.shutdown()
