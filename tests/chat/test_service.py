"""ChatService over a real QAPipeline with a tiny reader: rewriting reaches retrieval, what-else excludes."""

from chat.render import message
from chat.turns import NO_ANSWER, NO_ANSWER_SELECTED, Message, answer_in, turns_of
from chat.rewrite import Turn
from chat.service import ChatService
from qa.filters import documents_scope
from qa.pipeline import QAPipeline
from qa.types import Answer
from tests.conftest import FakeEmbedder, ListRetriever


class NameReader:
    """Answers with every capitalised word of the passages that is not in the question, best first."""

    def warm_up(self):
        pass

    def read_batch(self, questions, passages, max_answers, within_documents=False):
        out = []
        for q, ps in zip(questions, passages):
            found = []
            for sp in ps:
                for i, word in enumerate(sp.passage.text.split()):
                    start = len(" ".join(sp.passage.text.split()[:i])) + (1 if i else 0)
                    w = word.strip(".,")
                    if w[:1].isupper() and w not in q and i:
                        found.append(Answer(w, 0.9 - len(found) / 10, sp.passage.id, start, start + len(w)))
            out.append(found[:max_answers])
        return out


def make(three_passages):
    retriever = ListRetriever(three_passages)
    return ChatService(QAPipeline(FakeEmbedder(), retriever, NameReader(), top_k=3, max_answers=1)), retriever


def test_follow_up_is_retrieved_as_its_standalone_form(three_passages):
    chat, retriever = make(three_passages)
    reply = chat.reply([Turn("Who is the British defence secretary?", ("Ben Wallace",))], "What did he say?")
    assert reply.rewrite.question == "What did Ben Wallace say?"
    assert retriever.asked[-1] == "What did Ben Wallace say?"


def test_what_else_never_repeats_an_answer(three_passages):
    chat, _ = make(three_passages)
    first = chat.reply([], "Which names appear?")
    said = first.result.answers[0].text
    again = chat.reply([Turn("Which names appear?", (said,))], "Which else names appear?")
    assert again.result.answers and again.result.answers[0].text != said
    assert len(again.result.answers) == 1


def test_message_numbers_sources_and_its_answer_reads_back(three_passages):
    chat, _ = make(three_passages)
    reply = chat.reply([Turn("Who is the British defence secretary?", ("Ben Wallace",))], "What did he say?")
    text = message(reply)
    top = reply.result.answers[0]
    assert text.startswith(f"{top.text} [1]") and "Sources:\n[1] " in text and "(Asked as: What did Ben Wallace say?)" in text
    assert answer_in(text) == (top.text,)
    cite = reply.to_dict()["citations"][0]
    assert cite["context"][cite["citation"]["start"]:cite["citation"]["end"]] == cite["text"] == top.text
    assert cite["index"] == 1 and reply.numbered()[0].passage.text == cite["context"]


def test_no_answer_is_a_sentence_and_reads_back_as_none(three_passages):
    chat, _ = make(three_passages[:0])
    reply = chat.reply([], "Anything?")
    assert reply.result.no_answer and message(reply) == NO_ANSWER and answer_in(message(reply)) == ()


def test_no_answer_within_a_selection_says_so_and_reads_back_as_none(three_passages):
    chat, _ = make(three_passages)
    reply = chat.reply([], "Anything?", scope=documents_scope(["no-such-story"]))
    assert reply.result.no_answer and message(reply) == NO_ANSWER_SELECTED and answer_in(message(reply)) == ()


def test_turns_come_from_kept_answers_before_the_text():
    said = [Message("user", "Who met Joly?"), Message("assistant", "Denys Shmyhal [1]\n\nSources: ...", ("Shmyhal",)),
            Message("system", "ignored"), Message("user", "And Baerbock?"), Message("assistant", "Olaf Scholz [1]")]
    assert turns_of(said) == [Turn("Who met Joly?", ("Shmyhal",)), Turn("And Baerbock?", ("Olaf Scholz",))]
    assert turns_of([Message("user", "Q1"), Message("user", "Q2")]) == [Turn("Q1"), Turn("Q2")]
