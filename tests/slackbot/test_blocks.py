"""Block Kit rendering stays within Slack's limits and escapes what it quotes."""

import json

from chat.rewrite import Rewrite
from chat.service import ChatReply
from qa.types import Citation, CitedAnswer, Passage, QAResult, ScoredPassage
from slackbot.blocks import MAX_BLOCKS, MAX_SECTION_CHARS, quote_in_context, reply_payload


def reply_with(span: str, context: str, n: int = 1, asked: str = "q") -> ChatReply:
    start = context.index(span)
    passages = tuple(ScoredPassage(Passage(f"p{i}", "d", "Title <b>", i, context, 0, len(context)), 1.0) for i in range(n))
    answers = tuple(CitedAnswer(span, 0.5, f"p{i}", Citation("d", "Title <b>", i, start, start + len(span), start, start + len(span))) for i in range(n))
    return ChatReply(Rewrite("q", asked), QAResult(asked, answers, passages))


def test_long_answers_and_many_sources_fit_slack_limits():
    context = "word " * 3000 + "the <answer> & more " * 200 + "tail " * 3000
    span = ("the <answer> & more " * 200).strip()
    payload = reply_payload(reply_with(span, context, n=12, asked="What about it?"))
    blocks = payload["blocks"]
    assert len(blocks) <= MAX_BLOCKS and len(payload["text"]) <= 4000
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert texts and all(len(t) <= MAX_SECTION_CHARS for t in texts)
    assert not any("<answer>" in t for t in texts) and "&lt;answer&gt; &amp; more" in texts[0]
    assert sum("paragraph" in str(b) for b in blocks if b["type"] == "context") == 3  # sources capped
    assert "Asked as: What about it?" in str(blocks[-1])


def test_quote_bolds_the_span_inside_its_paragraph():
    context = "Earlier text here. German Chancellor Olaf Scholz said on a visit to Spain that talks matter."
    q = quote_in_context(context, context.index("Spain"), context.index("Spain") + 5, width=40)
    assert "*Spain*" in q and q.startswith("…") and q.endswith("…")


def test_no_answer_is_a_sentence_with_the_closest_passage_as_such():
    payload = reply_payload(ChatReply(Rewrite("q", "q"), QAResult("q", (), ())))
    assert "no confident answer" in payload["blocks"][0]["text"]["text"]
    assert payload["text"].startswith("I found no confident answer") and len(payload["blocks"]) == 1
    text = "Ben Wallace said Britain supplies anti-tank weapons."
    closest = ScoredPassage(Passage("d1:4", "d1", "Doc 1", 4, text, 0, len(text)), 0.3)
    payload = reply_payload(ChatReply(Rewrite("q", "q"), QAResult("q", (), (closest,))))
    said = json.dumps(payload["blocks"])
    assert "closest passage says" in said and "Britain supplies" in said and "paragraph 5" in said
    assert "not an answer" in said and "closest passage" in payload["text"]
