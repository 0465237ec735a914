"""The Bolt app: @mentions answered in thread, DMs in the DM, /ask acknowledged at once and answered after."""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Callable

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.middleware import Middleware
from slack_bolt.request import payload_utils
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from chat.rewrite import Turn
from chat.turns import Message, turns_of
from qa.atomic import write_atomic
from qa.filters import FilterError, Scope
from service.application import Application
from service.documents import DocumentError
from service.gate import Busy
from slackbot.blocks import reply_payload

log = logging.getLogger("qa.slack")
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
# Filters written in the message: doc:ID, since:DATE, until:DATE, source:NAME, topic:NAME (repeatable).
_SCOPE = re.compile(r"(?<!\S)(doc|since|until|source|topic):(\S{1,128})(?!\S)")
_FIELD = {"doc": "doc_ids", "source": "sources", "topic": "topics", "since": "since", "until": "until"}
HELP = ("Ask me a question about the indexed articles, e.g. “@me Who is the Kremlin spokesperson?”. Narrow it with "
        "doc:ID (one article; the thread keeps it), source:NAME, topic:NAME, since:2022-01-01 and until:2022-12-31.")
SORRY = "Sorry, something went wrong while answering. Please try again."
BUSY = "I'm answering many questions right now; please ask again in a moment."


def question_text(text: str) -> str:
    """A message's question: mentions and filter words (``doc:ID``, ``since:DATE``, ...) removed, Slack's entities
    unescaped."""
    return split_scope(_plain(text))[0]


def _plain(text: str) -> str:
    text = _MENTION.sub(" ", text or "")
    return " ".join(text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").split())


def split_scope(text: str) -> tuple[str, dict]:
    """The filter words of a message, as ``Scope.of`` fields (``doc:ID`` the article a question is about, as
    `GET /v1/documents` lists its id; ``source:``, ``topic:`` repeatable; ``since:``, ``until:`` dates), and the
    rest."""
    fields: dict = {}
    for key, value in _SCOPE.findall(text):
        name = _FIELD[key]
        if name in ("since", "until"):
            fields[name] = value
        else:
            fields.setdefault(name, []).append(value)
    return " ".join(_SCOPE.sub(" ", text).split()), fields


def scope_of(text: str) -> dict:
    """The filters a message asks its question within (empty: every indexed article)."""
    return split_scope(_plain(text))[1]


class SeenEvents:
    """Event ids already taken, so that a replayed or retried delivery never answers twice; with ``path``, kept
    there (the latest ``size``, written atomically at each new one) so that a restart forgets none of them."""

    def __init__(self, size: int = 5_000, path: Path | None = None):
        self.size, self.path, self._ids, self._lock = size, path, OrderedDict(), threading.Lock()
        if path is not None:
            try:
                ids = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                ids = []
            except (OSError, ValueError) as exc:  # unreadable: start afresh, said (a replay may then answer again)
                log.warning("cannot read the seen Slack events at %s (%s); starting without them", path,
                            type(exc).__name__)
                ids = []
            ids = ids[-size:] if isinstance(ids, list) else []
            self._ids.update((i, None) for i in ids if isinstance(i, str))

    def first_time(self, event_id: str | None) -> bool:
        if not event_id:
            return True
        with self._lock:
            if event_id in self._ids:
                return False
            self._ids[event_id] = None
            if len(self._ids) > self.size:
                self._ids.popitem(last=False)
            if self.path is not None:
                # Under the lock, so that the last file written holds every id; a failed write (a full disk) is
                # said, and the event answered all the same.
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    write_atomic(self.path, json.dumps(list(self._ids)))
                except OSError as exc:
                    log.warning("cannot keep the seen Slack events at %s (%s)", self.path, type(exc).__name__)
            return True


class BotIdentity:
    """Who the bot token is (``auth.test``), asked once at start in the background and never on a request's path.

    Bolt's default asks Slack on every request until it once succeeds, so with Slack slow or down every event
    waited on it and got a 500. Here events are acknowledged at once whatever the Web API does; while the
    identity is unknown it is asked again at most every ``retry_s`` seconds, in the background.
    """

    def __init__(self, client: WebClient, retry_s: float = 60.0):
        self.client, self.retry_s = client, retry_s
        self.user_id: str | None = None
        self.bot_id: str | None = None
        self.team_id: str | None = None
        self._asked = -float("inf")
        self._lock = threading.Lock()

    def verify(self) -> bool:
        """Ask ``auth.test`` now; a failure is a log line (the next try comes later)."""
        try:
            result = self.client.auth_test()
        except Exception as exc:  # noqa: BLE001 - Slack unreachable, slow or refusing: said, not raised
            log.warning("slack auth.test failed (%s); answering anyway, will try again in %.0f s",
                        type(exc).__name__, self.retry_s)
            return False
        self.user_id, self.bot_id, self.team_id = result.get("user_id"), result.get("bot_id"), result.get("team_id")
        log.info("slack token verified for bot user %s", self.user_id)
        return True

    def verify_soon(self) -> None:
        """Start a background ``auth.test`` unless one ran lately or the identity is known."""
        with self._lock:
            now = time.monotonic()
            if self.user_id is not None or now - self._asked < self.retry_s:
                return
            self._asked = now
        threading.Thread(target=self.verify, name="slack-auth-test", daemon=True).start()

    def authorize(self, enterprise_id, team_id, user_id) -> AuthorizeResult:
        """Bolt's ``authorize``: the one workspace's token, with whatever identity is known by now."""
        self.verify_soon()
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id or self.team_id,
                               bot_token=self.client.token, bot_user_id=self.user_id, bot_id=self.bot_id)


class _NoForgedBodies(logging.Filter):
    """Bolt logs a request that fails the signature check with its whole body: keep the line, drop the body."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("Invalid request signature"):
            record.msg, record.args = "Invalid request signature detected (body not logged)", ()
        return True


class _UnreadablePayloads(Middleware):
    """A signed request whose payload Bolt cannot take apart (a ``block_actions`` with ``actions: []``: Bolt reads
    ``actions[0]`` before any handler, or its error handler, runs) is answered 200 and ignored: nothing to do.

    A class, not ``@app.middleware``: a function middleware gets its arguments from that very reading."""

    _READERS = (payload_utils.to_options, payload_utils.to_shortcut, payload_utils.to_action, payload_utils.to_view,
                payload_utils.to_command, payload_utils.to_event, payload_utils.to_message, payload_utils.to_step)

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:
        try:
            for read in self._READERS:
                read(req.body)
        except (LookupError, TypeError, AttributeError) as exc:
            log.warning("ignored a Slack request whose payload has an unexpected shape (%s)", type(exc).__name__)
            return BoltResponse(status=200, body="")
        return next()


def _turns(messages: list[dict], bot_user_id: str | None, before_ts: str) -> tuple[list[Turn], dict]:
    """Earlier (question, answer) turns of a thread or DM: people's messages ask, this bot's answer; and the
    filters the latest of people's messages that named any (``doc:ID``, ``source:``...) set: a thread keeps them."""
    said: list[Message] = []
    scope: dict = {}
    for m in sorted(messages, key=lambda m: float(m.get("ts", 0))):
        if float(m.get("ts", 0)) >= float(before_ts):
            break
        mine = m.get("user") == bot_user_id or (m.get("bot_id") and m.get("user") in (None, bot_user_id))
        if mine:
            said.append(Message("assistant", m.get("text", "")))
        elif not m.get("bot_id"):
            scope = scope_of(m.get("text", "")) or scope
            if q := question_text(m.get("text", "")):
                said.append(Message("user", q))
    return turns_of(said), scope


def build_app(signing_secret: str, bot_token: str, get_app: Callable[[], Application],
              api_url: str | None = None, seen_file: Path | None = None) -> App:
    """``get_app`` is called per question, so the Bolt app can be built before the models are loaded;
    ``seen_file`` keeps the ids of the events taken across restarts."""
    # A slow Web API holds up only the reply it is sending, never the acknowledgement.
    client = WebClient(token=bot_token, base_url=api_url, timeout=10) if api_url else WebClient(token=bot_token, timeout=10)
    identity = BotIdentity(client)
    identity.verify_soon()
    logging.getLogger("slack_bolt.RequestVerification").addFilter(_NoForgedBodies())
    def authorize(enterprise_id, team_id, user_id):  # Bolt passes arguments by these names
        return identity.authorize(enterprise_id, team_id, user_id)

    # Bolt's own client carries no token: each request's client gets it from ``authorize`` (a token there too
    # made Bolt warn at every start that the token "will be ignored", which read as a misconfiguration).
    bolt_client = WebClient(base_url=api_url, timeout=10) if api_url else WebClient(timeout=10)
    app = App(signing_secret=signing_secret, authorize=authorize, client=bolt_client, logger=log,
              process_before_response=False, raise_error_for_unhandled_request=False)
    seen = SeenEvents(path=seen_file)
    app.use(_UnreadablePayloads())  # before every middleware below, which Bolt hands the payload's parts

    @app.middleware
    def once(req, resp, next):
        # Slack redelivers an event it did not see acknowledged (we were slow, restarting or unreachable): the
        # first delivery taken is answered, and any delivery of it after that only acknowledged.
        event_id = req.body.get("event_id") if isinstance(req.body, dict) else None
        retry = req.headers.get("x-slack-retry-num")
        if (retry and not event_id) or not seen.first_time(event_id):
            return BoltResponse(status=200, body="", headers={"x-slack-no-retry": "1"} if retry else {})
        return next()

    def answer(history: list[Turn], question: str, scope: dict | None = None) -> dict:
        # The same gate and metrics as every other channel.
        try:
            filters = Scope.of(**scope) if scope else None
            return reply_payload(get_app().chat(history, question, channel="slack", scope=filters))
        except Busy:
            return {"text": BUSY}
        except FilterError as exc:  # since:yesterday, since after until
            return {"text": f"Cannot use that filter ({exc}); dates are like since:2022-01-01."}
        except DocumentError as exc:  # a doc:ID that is not indexed, filters that match no document
            # The service names its API field ("doc_ids: no indexed document …"); here the user wrote doc:.
            said = re.sub(r"^doc_ids: ", "doc: ", str(exc))
            return {"text": f"{said}. Ask without doc:…, source:…, since:… to search every article."}

    def history_of(client: WebClient, channel: str, thread_ts: str | None, ts: str,
                   bot_user_id: str | None) -> tuple[list[Turn], dict]:
        if thread_ts:
            messages = client.conversations_replies(channel=channel, ts=thread_ts, limit=50).get("messages", [])
        else:
            messages = client.conversations_history(channel=channel, limit=12).get("messages", [])
        return _turns(messages, bot_user_id, ts)

    def from_a_bot(event: dict) -> bool:
        return bool(event.get("bot_id")) or event.get("subtype") is not None

    @app.event("app_mention")
    def on_mention(event, client, context, say):
        if from_a_bot(event):
            return
        question = question_text(event.get("text", ""))
        thread_ts = event.get("thread_ts") or event["ts"]
        if not question:
            say(text=HELP, thread_ts=thread_ts)
            return
        history, scope = history_of(client, event["channel"], event.get("thread_ts"), event["ts"],
                                    context.bot_user_id) if event.get("thread_ts") else ([], {})
        say(thread_ts=thread_ts, **answer(history, question, scope_of(event.get("text", "")) or scope))

    @app.event("message")
    def on_message(event, client, context, say):
        # Only direct messages; channel messages reach us as app_mention.
        if event.get("channel_type") != "im" or from_a_bot(event) or event.get("user") == context.bot_user_id:
            return
        question = question_text(event.get("text", ""))
        if not question:
            return
        history, scope = history_of(client, event["channel"], event.get("thread_ts"), event["ts"], context.bot_user_id)
        say(thread_ts=event.get("thread_ts"), **answer(history, question, scope_of(event.get("text", "")) or scope))

    @app.command("/ask")
    def on_ask(ack, command, respond):
        question = question_text(command.get("text", ""))
        if not question:
            ack(text="Usage: /ask [doc:ID] [source:NAME] [topic:NAME] [since:DATE] [until:DATE] <question about the "
                     "indexed articles>")
            return
        # Acknowledge now (Slack waits 3 seconds); the answer follows through the response URL.
        ack()
        respond(response_type="in_channel", replace_original=False,
                **answer([], question, scope_of(command.get("text", ""))))

    @app.error
    def on_error(error, body, respond=None, say=None):
        # Slack's Web API failing (down, slow, refusing) is one log line; anything else is a bug, logged with its
        # traceback. The user sees a short apology (if Slack takes it), never the details.
        if isinstance(error, (SlackClientError, OSError)):
            log.warning("slack web api failed while answering: %s: %s", type(error).__name__, str(error)[:200])
        else:
            log.exception("slack handler failed: %s", type(error).__name__, exc_info=error)
        try:
            event = body.get("event") or {}
            if respond is not None and body.get("command"):
                respond(text=SORRY, response_type="ephemeral")
            elif say is not None and event.get("channel"):
                say(text=SORRY, thread_ts=event.get("thread_ts") or event.get("ts"))
        except Exception:  # noqa: BLE001 - the apology is best effort
            log.warning("could not tell the user about the failure")

    return app
