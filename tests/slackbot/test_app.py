"""Signed requests to the real Bolt app inside our FastAPI app; Slack's Web API is a local fake."""

import contextlib
import json
import logging
import subprocess
import sys
import time
import urllib.parse

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from tests.slackbot.conftest import BOT_USER, SECRET, TOKEN, event_body, signed

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def slack_client(fake_slack, service):
    """Our app with Slack configured against the local fake Web API, over ``service``."""
    settings = service.settings.with_(slack={"signing_secret": SECRET, "bot_token": TOKEN,
                                             "api_url": fake_slack.url + "/api/"})
    with TestClient(create_app(settings, loader=lambda _s: service)) as client:
        yield client


@pytest.fixture(scope="module")
def slack(fake_slack, real_service):
    with slack_client(fake_slack, real_service) as client:
        yield client


@pytest.fixture(autouse=True)
def _clean(fake_slack):
    fake_slack.reset()


def post_event(client, event, event_id, headers=None, secret=SECRET, timestamp=None):
    body = event_body(event, event_id)
    return client.post("/slack/events", content=body, headers={
        "content-type": "application/json", **signed(body, secret, timestamp), **(headers or {})})


def mention(text, ts="1700000000.000100", thread_ts=None, **more):
    event = {"type": "app_mention", "user": "UALICE", "text": f"<@{BOT_USER}> {text}", "ts": ts, "channel": "C1", **more}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def test_unconfigured_app_has_no_slack_route_and_loads_nothing_of_slack():
    code = ("import sys; from fastapi.testclient import TestClient; from api.app import create_app; "
            "c = TestClient(create_app(loader=None)); print(c.post('/slack/events', json={}).status_code); "
            "print(any(m.split('.')[0] in ('slack_bolt', 'slack_sdk', 'slackbot') for m in sys.modules))")
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("QA_SLACK")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout.split()
    assert out == ["404", "False"]


def test_slack_questions_are_counted_and_wait_in_the_same_gate(slack, fake_slack, real_service):
    from slackbot.app import BUSY
    from tests.api.test_operations import metric

    answered = 'qa_questions_total{channel="slack",outcome="answer"}'
    refused = 'qa_questions_refused_total{channel="slack"}'
    before = slack.get("/metrics").text
    post_event(slack, mention("Who is the Kremlin spokesperson?"), "Ev-counted")
    assert "Peskov" in json.dumps(fake_slack.wait_for("chat.postMessage")[0]["blocks"])
    fake_slack.reset()
    # Every model slot taken (as by HTTP questions): the Slack question queues, then is told the service is busy.
    with contextlib.ExitStack() as stack:
        for _ in range(real_service.gate.limit):
            stack.enter_context(real_service.gate.slot())
        post_event(slack, mention("Who is the Kremlin spokesperson?", ts="1700000000.000200"), "Ev-gated")
        post = fake_slack.wait_for("chat.postMessage")[0]
    assert post["text"] == BUSY
    after = slack.get("/metrics").text
    assert metric(after, answered) - metric(before, answered) == 1
    assert metric(after, refused) - metric(before, refused) == 1


def test_url_verification_challenge(slack):
    body = json.dumps({"token": "x", "challenge": "c-123", "type": "url_verification"})
    r = slack.post("/slack/events", content=body, headers={"content-type": "application/json", **signed(body)})
    assert r.status_code == 200 and "c-123" in r.text


def test_mention_is_answered_in_its_thread_with_a_cited_block_message(slack, fake_slack, caplog):
    caplog.set_level(logging.DEBUG)
    r = post_event(slack, mention("Who is the Kremlin spokesperson?"), "Ev-mention-1")
    assert r.status_code == 200
    post = fake_slack.wait_for("chat.postMessage")[0]
    assert post["channel"] == "C1" and post["thread_ts"] == "1700000000.000100"
    blocks = post["blocks"] if isinstance(post["blocks"], list) else json.loads(post["blocks"])
    assert blocks[0]["text"]["text"].startswith("*") and "Peskov" in blocks[0]["text"]["text"]
    assert blocks[1]["text"]["text"].startswith(">") and "*" in blocks[1]["text"]["text"]
    assert "paragraph" in blocks[2]["elements"][0]["text"] and "score" in blocks[2]["elements"][0]["text"]
    assert post["_auth"] == f"Bearer {TOKEN}"
    assert TOKEN not in caplog.text and SECRET not in caplog.text


def test_forged_and_stale_requests_are_refused(slack, fake_slack):
    assert post_event(slack, mention("Who is the Kremlin spokesperson?"), "Ev-forged", secret="wrong").status_code == 401
    stale = int(time.time()) - 6 * 60
    assert post_event(slack, mention("Who is the Kremlin spokesperson?"), "Ev-stale", timestamp=stale).status_code == 401
    unsigned = slack.post("/slack/events", content=event_body(mention("hi"), "Ev-unsigned"),
                          headers={"content-type": "application/json"})
    assert unsigned.status_code == 401
    # A valid request afterwards is answered: the refused ones posted nothing.
    post_event(slack, mention("Who is the German chancellor?"), "Ev-after-forged")
    posts = fake_slack.wait_for("chat.postMessage")
    time.sleep(0.5)
    assert len(fake_slack.posts("chat.postMessage")) == 1 and "Scholz" in json.dumps(posts[0])


RETRY = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}


def test_replays_and_retries_never_answer_twice(slack, fake_slack):
    event = mention("Who is the German chancellor?", ts="1700000000.000200")
    assert post_event(slack, event, "Ev-replay").status_code == 200
    assert post_event(slack, event, "Ev-replay").status_code == 200            # the same delivery again
    r = post_event(slack, event, "Ev-replay", headers=RETRY)                   # Slack's retry of it
    assert r.status_code == 200 and r.headers["x-slack-no-retry"] == "1"
    # A retry of an event whose first delivery never arrived (we were down): the only one there is, answered.
    lost = mention("Who is the Kremlin spokesperson?", ts="1700000000.000300")
    assert post_event(slack, lost, "Ev-first-lost", headers=RETRY).status_code == 200
    fake_slack.wait_for("chat.postMessage", 2)
    time.sleep(0.5)
    threads = sorted(p["thread_ts"] for p in fake_slack.posts("chat.postMessage"))
    assert threads == ["1700000000.000200", "1700000000.000300"]


def test_the_events_taken_are_remembered_across_a_restart_within_a_bound(fake_slack, real_service, tmp_path):
    """The ids of the events taken were held in memory only: after a restart, Slack's retry of an event already
    answered was answered again. They are kept beside the index (atomically, the latest ``size``)."""
    from slackbot.app import SeenEvents
    from tests.conftest import serving

    settings = real_service.settings.with_(index={"index_dir": tmp_path / "index"}, slack={
        "signing_secret": SECRET, "bot_token": TOKEN, "api_url": fake_slack.url + "/api/"})

    def post(url, event, event_id, headers=None):
        body = event_body(event, event_id)
        return httpx.post(f"{url}/slack/events", content=body, timeout=30, headers={
            "content-type": "application/json", **signed(body), **(headers or {})})

    with serving(create_app(settings, loader=lambda _s: real_service)) as url:
        assert post(url, mention("Who is the Kremlin spokesperson?", ts="1700000500.000100"), "Ev-before").status_code == 200
        fake_slack.wait_for("chat.postMessage", 1)
    with serving(create_app(settings, loader=lambda _s: real_service)) as url:  # the server restarted
        for headers in (RETRY, None):  # Slack's retry of it, and the same delivery replayed
            assert post(url, mention("Who is the Kremlin spokesperson?", ts="1700000500.000100"), "Ev-before",
                        headers).status_code == 200
        assert post(url, mention("Who is the German chancellor?", ts="1700000500.000200"), "Ev-after").status_code == 200
        fake_slack.wait_for("chat.postMessage", 2)
        time.sleep(0.5)
    assert sorted(p["thread_ts"] for p in fake_slack.posts("chat.postMessage")) == ["1700000500.000100",
                                                                                     "1700000500.000200"]
    kept = tmp_path / "index" / "slack-seen-events.json"
    assert json.loads(kept.read_text()) == ["Ev-before", "Ev-after"]
    small = SeenEvents(size=3, path=tmp_path / "small.json")
    assert all(small.first_time(f"Ev-{n}") for n in range(5))
    again = SeenEvents(size=3, path=tmp_path / "small.json")
    assert json.loads((tmp_path / "small.json").read_text()) == ["Ev-2", "Ev-3", "Ev-4"]
    assert [again.first_time(f"Ev-{n}") for n in (4, 3, 2, 1)] == [False, False, False, True]


def test_own_messages_and_other_bots_are_ignored(slack, fake_slack):
    dm = {"type": "message", "channel_type": "im", "channel": "D1", "text": "Who is the German chancellor?"}
    post_event(slack, {**dm, "user": BOT_USER, "ts": "1.1"}, "Ev-own")
    post_event(slack, {**dm, "user": "UOTHER", "bot_id": "BOTHER", "ts": "1.2"}, "Ev-bot")
    post_event(slack, {**dm, "subtype": "bot_message", "bot_id": "BOTHER", "ts": "1.3"}, "Ev-bot-sub")
    post_event(slack, mention("Who is the German chancellor?", bot_id="BOTHER"), "Ev-bot-mention")
    post_event(slack, {**dm, "user": "UALICE", "ts": "1.4"}, "Ev-person")
    fake_slack.wait_for("chat.postMessage")
    time.sleep(0.5)
    posts = fake_slack.posts("chat.postMessage")
    assert len(posts) == 1 and posts[0]["channel"] == "D1" and "thread_ts" not in posts[0]


def test_thread_follow_up_uses_the_threads_earlier_turns(slack, fake_slack):
    fake_slack.history = [
        {"type": "message", "user": "UALICE", "text": f"<@{BOT_USER}> Who is the German chancellor?", "ts": "1700000100.000000"},
        {"type": "message", "user": BOT_USER, "bot_id": "BBOT", "text": "Olaf Scholz [1]\n\nSources: ...", "ts": "1700000101.000000"},
    ]
    post_event(slack, mention("Which country was he visiting?", ts="1700000102.000000", thread_ts="1700000100.000000"), "Ev-thread")
    post = fake_slack.wait_for("chat.postMessage")[0]
    replies = fake_slack.posts("conversations.replies")
    assert replies and replies[0]["channel"] == "C1" and replies[0]["ts"] == "1700000100.000000"
    assert post["thread_ts"] == "1700000100.000000"
    assert "Asked as: Which country was Olaf Scholz visiting?" in json.dumps(post["blocks"])


def test_slash_command_is_acknowledged_before_a_slow_answer(fake_slack, real_service):
    from slackbot.app import build_app
    from slackbot.route import make_router

    class SlowApplication:
        def chat(self, history, question, channel="chat", scope=None):
            time.sleep(3.5)  # slower than Slack's 3-second limit
            return real_service.chat(history, question, channel=channel, scope=scope)

    app = FastAPI()
    app.include_router(make_router(build_app(SECRET, TOKEN, lambda: SlowApplication(), api_url=fake_slack.url + "/api/")))
    form = urllib.parse.urlencode({"command": "/ask", "text": "Who is the Kremlin spokesperson?", "user_id": "UALICE",
                                   "channel_id": "C1", "team_id": "T1", "trigger_id": "t",
                                   "response_url": fake_slack.url + "/respond/abc"})
    with TestClient(app) as client:
        t0 = time.monotonic()
        r = client.post("/slack/events", content=form,
                        headers={"content-type": "application/x-www-form-urlencoded", **signed(form)})
        acked = time.monotonic() - t0
        assert r.status_code == 200 and acked < 3.0
        assert not fake_slack.posts("/respond/abc")  # the answer comes later
        posted = fake_slack.wait_for("/respond/abc", timeout=30)
    assert time.monotonic() - t0 >= 3.5
    assert posted[0]["response_type"] == "in_channel" and "Peskov" in json.dumps(posted[0]["blocks"])


def test_starting_the_app_warns_of_nothing(fake_slack, caplog):
    """Bolt warned at every start that the token "will be ignored" (it was given twice); each request's client
    still gets it (the mention test checks the Authorization header of the post)."""
    from slackbot.app import build_app

    caplog.set_level(logging.WARNING)
    build_app(SECRET, TOKEN, lambda: None, api_url=fake_slack.url + "/api/")
    assert "will be ignored" not in caplog.text and not [r for r in caplog.records if r.name.startswith("slack_bolt")]


def test_failures_are_logged_and_apologised_for_without_details(fake_slack, caplog):
    from slackbot.app import SORRY, build_app
    from slackbot.route import make_router

    def broken():
        raise RuntimeError("secret internals: /srv/index corrupt")

    app = FastAPI()
    app.include_router(make_router(build_app(SECRET, TOKEN, broken, api_url=fake_slack.url + "/api/")))
    with TestClient(app) as client:
        post_event(client, mention("Who is the Kremlin spokesperson?"), "Ev-broken")
        post = fake_slack.wait_for("chat.postMessage")[0]
    assert post["text"] == SORRY and "internals" not in json.dumps(post)
    assert "secret internals" in caplog.text


@pytest.mark.parametrize("stamp", ["abc", "", "1e3", "1.5", "nan"])
def test_bad_timestamps_are_401_before_any_signature_check(slack, stamp):
    body = event_body(mention("Who?"), "Ev-stamp")
    r = slack.post("/slack/events", content=body, headers={"content-type": "application/json",
                                                          "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=x"})
    assert r.status_code == 401


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b"\xff\xfe", b"payload=%7Bbroken", b"a=1&&&b"])
def test_garbage_bodies_are_400_not_500(slack, body):
    r = slack.post("/slack/events", content=body, headers={"content-type": "application/json",
                                                          **signed(body.decode("latin-1"))})
    assert r.status_code == 400


def test_long_challenges_are_not_echoed(slack):
    body = json.dumps({"token": "x", "challenge": "c" * 60_000, "type": "url_verification"})
    r = slack.post("/slack/events", content=body, headers={"content-type": "application/json", **signed(body)})
    assert r.status_code == 400 and len(r.content) < 200


@pytest.mark.parametrize("trouble", ["slow", "failing", "unreachable"])
def test_events_are_acknowledged_at_once_whatever_slacks_web_api_does(real_service, caplog, trouble):
    from tests.slackbot.conftest import FakeSlack

    fake = FakeSlack(delay_s=5.0) if trouble == "slow" else FakeSlack(status=500) if trouble == "failing" else None
    api_url = fake.url + "/api/" if fake else "http://127.0.0.1:9/api/"  # nothing listens on port 9
    settings = real_service.settings.with_(slack={"signing_secret": SECRET, "bot_token": TOKEN, "api_url": api_url})
    caplog.set_level(logging.INFO)
    try:
        with TestClient(create_app(settings, loader=lambda _s: real_service), raise_server_exceptions=False) as client:
            for n in range(3):
                started = time.monotonic()
                r = post_event(client, mention("Who is the Kremlin spokesperson?", ts=f"170000000{n}.000100"),
                               f"Ev-{trouble}-{n}")
                # Slack's own limit is 3 s; the fake's 5 s delay shows whether the ack waited for the Web API.
                assert r.status_code == 200 and time.monotonic() - started < 3.0, (r.status_code, r.text)
                body = "command=%2Fask&text=&response_url=http%3A%2F%2F127.0.0.1%3A9%2Fr&user_id=U1&channel_id=C1"
                started = time.monotonic()
                r = client.post("/slack/events", content=body, headers={
                    "content-type": "application/x-www-form-urlencoded", **signed(body)})
                assert r.status_code == 200 and time.monotonic() - started < 3.0
            if fake is not None:
                # auth.test is asked once at start (and again at most once a minute while it fails), never per event.
                assert len(fake.posts("auth.test")) <= 1
                time.sleep(0.5)
    finally:
        if fake is not None:
            fake.server.shutdown()
    assert not any(r.levelno >= logging.ERROR and "Traceback" in (r.exc_text or "") and "500" in r.getMessage()
                   for r in caplog.records)


def test_forged_requests_are_refused_and_logged_without_their_body(slack, caplog):
    caplog.set_level(logging.INFO)
    secret_words = "confidential-payload-words"
    r = post_event(slack, mention(secret_words), "Ev-forged", secret="not-the-secret")
    assert r.status_code == 401
    assert any("Invalid request signature" in rec.getMessage() for rec in caplog.records)
    assert not any(secret_words in rec.getMessage() for rec in caplog.records)


@pytest.mark.parametrize("actions", [[], {}, None])
def test_block_actions_without_an_action_are_acknowledged_and_ignored(fake_slack, caplog, actions):
    from slackbot.app import build_app
    from slackbot.route import make_router

    def never():
        raise AssertionError("nothing to answer")

    app = FastAPI()
    app.include_router(make_router(build_app(SECRET, TOKEN, never, api_url=fake_slack.url + "/api/")))
    payload = {"type": "block_actions", "team": {"id": "T1"}, "user": {"id": "UALICE"}, "api_app_id": "A1",
               "trigger_id": "t", "actions": actions}
    form = urllib.parse.urlencode({"payload": json.dumps(payload)})
    headers = {"content-type": "application/x-www-form-urlencoded"}
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/slack/events", content=form, headers={**headers, **signed(form)})
        assert r.status_code == 200, r.text
        assert client.post("/slack/events", content=form, headers={**headers, **signed(form, "not-the-secret")}).status_code == 401
    assert not fake_slack.posts("chat.postMessage")
    assert not [rec for rec in caplog.records if rec.levelno >= logging.ERROR and rec.name.startswith(("qa", "slack_bolt"))]


def test_doc_scopes_a_question_and_its_thread_keeps_the_scope(slack, fake_slack):
    """doc:ID asks within one article; later messages of the thread are asked within it too."""
    post_event(slack, mention("doc:a55cb55b65e2c03f Who is the Kremlin spokesperson?"), "Ev-scope-1")
    post = fake_slack.wait_for("chat.postMessage")[0]
    assert "Peskov" in json.dumps(post["blocks"]) and "doc:" not in json.dumps(post["blocks"])
    # A thread opened with an id that is not indexed: the follow-up (no doc: of its own) inherits it, and the
    # reply says so instead of answering from every article.
    fake_slack.history = [
        {"type": "message", "user": "UALICE", "text": f"<@{BOT_USER}> doc:gone-story Who is the German chancellor?",
         "ts": "1700000200.000000"},
        {"type": "message", "user": BOT_USER, "bot_id": "BBOT", "text": "doc_ids: no indexed document …",
         "ts": "1700000201.000000"},
    ]
    post_event(slack, mention("Which country was he visiting?", ts="1700000202.000000", thread_ts="1700000200.000000"),
               "Ev-scope-2")
    reply = fake_slack.wait_for("chat.postMessage", 2)[1]
    assert "gone-story" in reply["text"] and "doc:" in reply["text"]
    assert "doc_ids" not in reply["text"]  # the user's word, not the API's field


@pytest.fixture(scope="module")
def archive_slack(fake_slack, archive_service):
    with slack_client(fake_slack, archive_service) as client:
        yield client


def test_filters_in_a_message_narrow_the_question_and_the_thread_keeps_them(archive_slack, fake_slack):
    question = "How many bags is the Bahia cocoa crop expected to total?"
    post_event(archive_slack, mention(f"source:reuters21578 until:1987-03-01 {question}"), "Ev-filter-1")
    post = fake_slack.wait_for("chat.postMessage")[0]
    blocks = json.dumps(post["blocks"], ensure_ascii=False)
    assert "1.2 million" in blocks and "reuters21578 · 26 Feb 1987 · paragraph 2" in blocks
    assert "source:" not in blocks and "until:" not in blocks
    # A follow-up in the thread without filters of its own keeps them: a filter that now matches nothing says so.
    fake_slack.history = [
        {"type": "message", "user": "UALICE", "text": f"<@{BOT_USER}> source:bbc since:2023-01-01 {question}",
         "ts": "1700000300.000000"},
        {"type": "message", "user": BOT_USER, "bot_id": "BBOT", "text": "no documents …", "ts": "1700000301.000000"},
    ]
    post_event(archive_slack, mention("And in London?", ts="1700000302.000000", thread_ts="1700000300.000000"),
               "Ev-filter-2")
    reply = fake_slack.wait_for("chat.postMessage", 2)[1]
    assert reply["text"].startswith("no documents from bbc published since 2023-01-01")
    post_event(archive_slack, mention(f"since:yesterday {question}", ts="1700000400.000000"), "Ev-filter-3")
    reply = fake_slack.wait_for("chat.postMessage", 3)[2]
    assert reply["text"].startswith("Cannot use that filter (since: 'yesterday' is not a date")
