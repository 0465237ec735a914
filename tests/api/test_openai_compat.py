"""The unmodified official openai client against a live server: models, plain and streamed chat, errors."""

import json

import httpx
import openai
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(live_server):
    return openai.OpenAI(base_url=f"{live_server}/v1", api_key="not-needed", max_retries=0)


def test_models_lists_ours(client, real_service):
    assert [m.id for m in client.models.list()] == [real_service.settings.server.chat_model]
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-nothing")


def test_plain_chat_answers_with_a_cited_span(client):
    r = client.chat.completions.create(model="news-qa", messages=[
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "Who is the Kremlin spokesperson?"}], temperature=0.3)
    content = r.choices[0].message.content
    cites = r.model_extra["citations"]
    assert r.choices[0].finish_reason == "stop" and r.object == "chat.completion"
    assert cites and content.startswith(f"{cites[0]['text']} [1]") and "Sources:" in content
    c = cites[0]["citation"]
    assert cites[0]["context"][c["start"]:c["end"]] == cites[0]["text"]
    assert "Peskov" in cites[0]["text"]
    assert r.usage.completion_tokens > 0


def test_follow_up_resolves_the_pronoun(client):
    first = client.chat.completions.create(model="news-qa", messages=[
        {"role": "user", "content": "Who is the British defense secretary?"}])
    assert "Wallace" in first.model_extra["citations"][0]["text"]
    second = client.chat.completions.create(model="news-qa", messages=[
        {"role": "user", "content": "Who is the British defense secretary?"},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "Whom did he invite to London?"}])
    # In the article's own words: "Ben Wallace" once, "Wallace" after (chat.rewrite.article_form).
    assert first.model_extra["citations"][0]["text"] == "Ben Wallace"
    assert second.model_extra["question"] == "Whom did Wallace invite to London?"


def test_streamed_chat_is_the_same_message_in_chunks(client):
    messages = [{"role": "user", "content": "Who is the Kremlin spokesperson?"}]
    plain = client.chat.completions.create(model="news-qa", messages=messages)
    chunks = list(client.chat.completions.create(model="news-qa", messages=messages, stream=True,
                                                 stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == plain.choices[0].message.content
    finals = [ch for ch in chunks if ch.choices and ch.choices[0].finish_reason]
    assert len(finals) == 1 and finals[0].choices[0].finish_reason == "stop"
    assert finals[0].model_extra["citations"] == plain.model_extra["citations"]
    assert chunks[-1].usage is not None and not chunks[-1].choices
    assert len([ch for ch in chunks if ch.choices and ch.choices[0].delta.content]) > 3


def test_sse_wire_format_ends_with_done(live_server):
    with httpx.stream("POST", f"{live_server}/v1/chat/completions", timeout=30, json={
            "model": "news-qa", "stream": True, "messages": [{"role": "user", "content": "Who won the 2022 football World Cup?"}]}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line for line in r.iter_lines() if line]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"
    assert "\"no_answer\": true" in events[-2]


def test_no_answer_is_an_explicit_sentence(client):
    r = client.chat.completions.create(model="news-qa", messages=[{"role": "user", "content": "Who won the 2022 football World Cup?"}])
    assert r.model_extra["no_answer"] is True and r.model_extra["citations"] == []
    assert r.choices[0].message.content.startswith("I found no confident answer")
    # Never empty-handed: the closest passage, labelled as such, in the text and as a structured field.
    closest = r.model_extra["closest"]
    assert closest["text"] and "The closest passage (" in r.choices[0].message.content
    assert closest["text"][:40] in r.choices[0].message.content


@pytest.mark.parametrize("messages", [
    [{"role": "user", "content": "Who is the Kremlin spokesperson?"}, {"role": "assistant", "content": "Dmitry Peskov [1]"}],
    [{"role": "system", "content": "Be brief."}],
    [{"role": "user", "content": "   "}],
])
def test_a_conversation_without_a_question_gets_a_prompt_not_an_error(client, messages):
    r = client.chat.completions.create(model="news-qa", messages=messages)
    assert r.choices[0].message.content.startswith("Ask me a question") and r.model_extra["no_answer"] is True


def test_any_assistant_text_in_the_history_is_read_without_error(client):
    """A client may send back any assistant text; an answer line of quotes and spaces once raised (a 500)."""
    r = client.chat.completions.create(model="news-qa", messages=[
        {"role": "user", "content": "Who is the Kremlin spokesperson?"}, {"role": "assistant", "content": '" "'},
        {"role": "user", "content": "What did he say?"}])
    assert r.choices[0].message.content and r.model_extra["question"]


def test_max_tokens_cuts_and_says_length(client):
    r = client.chat.completions.create(model="news-qa", max_tokens=2,
                                       messages=[{"role": "user", "content": "Who is the Kremlin spokesperson?"}])
    assert r.choices[0].finish_reason == "length" and len(r.choices[0].message.content.split()) == 2


@pytest.mark.parametrize("messages, word", [
    ([], "messages"),
    ([{"role": "user", "content": "x" * 1001}], "question must be at most 1000 characters (got 1001)"),
    ([{"role": "user", "content": [{"type": "text", "text": "x" * 700}, {"type": "text", "text": "y" * 700}]}],
     "question must be at most 1000 characters (got 1401)"),
    ([{"role": "wizard", "content": "hi"}], "role"),
    ([{"role": "user", "content": "hi"}], "n"),
])
def test_bad_requests_get_openai_errors(client, messages, word):
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model="news-qa", messages=messages, **({"n": 2} if word == "n" else {}))
    assert err.value.status_code == 400 and word in err.value.message
    assert err.value.body["type"] == "invalid_request_error"


def test_a_chat_can_be_scoped_to_documents_with_extra_body(client):
    """doc_ids rides in the request body (the official client's extra_body): the conversation is answered from
    those documents only; an id that is not indexed is OpenAI's 404 naming the parameter."""
    r = client.chat.completions.create(model="news-qa", messages=[
        {"role": "user", "content": "Who is the Kremlin spokesperson?"}], extra_body={"doc_ids": ["a55cb55b65e2c03f"]})
    cites = r.model_extra["citations"]
    assert cites and all(c["citation"]["doc_id"] == "a55cb55b65e2c03f" for c in cites)
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="news-qa", messages=[{"role": "user", "content": "Who?"}],
                                       extra_body={"doc_ids": ["no-such-story"]})
    assert err.value.body["param"] == "doc_ids" and "no-such-story" in err.value.body["message"]


def test_what_an_extractive_model_can_do_is_honoured_and_the_rest_refused_naming_the_parameter(client):
    question = [{"role": "user", "content": "Who is the Kremlin spokesperson?"}]
    r = client.chat.completions.create(model="news-qa", messages=question, response_format={"type": "json_object"})
    body = json.loads(r.choices[0].message.content)
    assert "Peskov" in body["answer"] and body["citations"][0]["citation"]["doc_id"] and body["no_answer"] is False
    plain = client.chat.completions.create(model="news-qa", messages=question).choices[0].message.content
    cut = client.chat.completions.create(model="news-qa", messages=question, stop=["Sources:", "\n"])
    assert cut.choices[0].message.content == plain.split("\n")[0] and cut.choices[0].finish_reason == "stop"
    # Tools the model could call stay unused; tools it must call, a JSON schema, out-of-range sampling: refused.
    r = client.chat.completions.create(model="news-qa", messages=question, tool_choice="auto", tools=[
        {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}])
    assert r.choices[0].message.content == plain
    for kwargs, param in ((dict(tool_choice="required", tools=[{"type": "function", "function": {"name": "f"}}]),
                           "tool_choice"),
                          (dict(response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {}}}),
                           "response_format"),
                          (dict(temperature=3.5), "temperature"), (dict(top_p=-0.1), "top_p"),
                          (dict(stop=["a", "b", "c", "d", "e"]), "stop")):
        with pytest.raises(openai.BadRequestError) as refused:
            client.chat.completions.create(model="news-qa", messages=question, **kwargs)
        assert param in refused.value.message, (param, refused.value.message)


def test_a_long_chat_keeps_working_and_reads_only_its_last_turns(client):
    history = []
    for i in range(150):
        history += [{"role": "user", "content": f"Question number {i} about something else?"},
                    {"role": "assistant", "content": "No confident answer in the indexed articles."}]
    history += [{"role": "user", "content": "Who is the Kremlin spokesperson?"}]
    r = client.chat.completions.create(model="news-qa", messages=history)  # 301 messages, over OpenAI's old 200
    assert "Peskov" in r.choices[0].message.content
