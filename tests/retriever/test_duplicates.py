"""One story once: syndicated copies (the same paragraph under another id) and near-duplicates (a re-run with a changed
figure) come back as one result naming the other articles; distinct stories on one topic stay apart."""

import json

from qa.filters import Scope, documents_scope
from qa.types import Passage, ScoredPassage
from retriever.duplicates import collapse
from retriever.hybrid import HybridRetriever
from service.indexing import build_index
from tests.conftest import FakeEmbedder

STORY = ("Showers continued throughout the week in the Bahia cocoa zone, alleviating the drought since early "
         "January and improving prospects for the coming temporao crop, the commission said.")


def _scored(doc, text, score):
    return ScoredPassage(Passage(f"{doc}:0", doc, doc, 0, text, 0, len(text)), score)


def test_near_duplicates_fold_into_the_best_ranked_one_and_distinct_stories_stay():
    rerun = STORY.replace("the week", "the past week")  # a wire re-run with a word changed
    other = "Cocoa prices fell in London as Ghana's main crop arrivals rose faster than expected by dealers."
    ranked = [_scored("a", STORY, 0.9), _scored("b", other, 0.8), _scored("c", rerun, 0.7), _scored("d", STORY, 0.6)]
    kept = collapse(ranked, 3)
    assert [(sp.passage.doc_id, sp.also_in) for sp in kept] == [("a", ("c", "d")), ("b", ())]
    assert [sp.passage.doc_id for sp in collapse(ranked, 1)] == ["a"] and collapse(ranked, 1)[0].also_in == ("c", "d")


def test_an_archive_with_syndicated_copies_answers_once_naming_the_copies(tmp_path):
    records = [{"id": "reuters-1", "title": "COCOA", "text": STORY + "\n\nThe crop is put at 1.2 million bags."},
               {"id": "syndicated-1", "title": "Cocoa (copy)", "text": STORY},  # the same paragraph, another id
               {"id": "rerun-1", "title": "COCOA (rerun)", "text": STORY.replace("commission", "Comissaria Smith")},
               {"id": "ghana", "title": "Ghana", "text": "Ghana's cocoa arrivals rose to 200,000 tonnes."}]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    embedder = FakeEmbedder()
    index = build_index([tmp_path / "a.jsonl"], embedder, tmp_path / "idx").index
    # The copy is a document with its own paragraph (it can be asked within, filtered and listed).
    assert index.document_count() == 4 and [p.text for p in index.passages_of("syndicated-1")] == [STORY]
    question = "Showers in the Bahia cocoa zone"
    retriever = HybridRetriever(index)
    hits = retriever.retrieve_batch([question], embedder.encode([question]), 3)[0]
    texts = [h.passage.text for h in hits]
    assert len(texts) == len(set(texts)) == 3  # every story once, and still three passages
    top = next(h for h in hits if h.passage.text == STORY)
    assert {top.passage.doc_id, *top.also_in} == {"reuters-1", "syndicated-1", "rerun-1"}
    assert not any(h.passage.doc_id == "rerun-1" for h in hits)
    # Asked within the copy, the copy answers, citing itself.
    within = retriever.retrieve_batch([question], embedder.encode([question]), 3, scope=documents_scope(["syndicated-1"]))[0]
    assert [h.passage.id for h in within] == ["syndicated-1:0"]
    # A copy deleted since: no longer named.
    index.write(deletes=["syndicated-1"])
    hits = retriever.retrieve_batch([question], embedder.encode([question]), 3)[0]
    top = next(h for h in hits if h.passage.text == STORY)
    assert top.passage.doc_id == "reuters-1" and top.also_in == ("rerun-1",)


def test_a_copy_is_found_by_its_own_date_source_and_topics(tmp_path):
    records = [{"id": "wire", "title": "COCOA", "text": STORY, "published": "1987-02-26", "source": "reuters",
                "topics": ["cocoa"]},
               {"id": "paper", "title": "Cocoa", "text": STORY, "published": "1987-03-02", "source": "gazette",
                "topics": ["farming"]}]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    embedder = FakeEmbedder()
    retriever = HybridRetriever(build_index([tmp_path / "a.jsonl"], embedder, tmp_path / "idx").index)
    question = "Showers in the Bahia cocoa zone"
    for scope in (Scope.of(topics=["farming"]), Scope.of(sources=["gazette"]), Scope.of(since="1987-03-01")):
        hits = retriever.retrieve_batch([question], embedder.encode([question]), 3, scope=scope)[0]
        assert [(h.passage.doc_id, h.also_in) for h in hits] == [("paper", ())], scope


def test_a_story_carried_by_many_papers_still_leaves_k_distinct_passages(tmp_path):
    others = ["Cocoa prices fell in London as Ghana's arrivals rose.", "Bahia cocoa farmers expect a larger crop.",
              "The cocoa commission met in Ilheus on Monday."]
    records = [{"id": f"paper-{i}", "title": f"Paper {i}", "text": STORY} for i in range(12)]
    records += [{"id": f"other-{i}", "title": f"Other {i}", "text": t} for i, t in enumerate(others)]
    (tmp_path / "a.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    embedder = FakeEmbedder()
    retriever = HybridRetriever(build_index([tmp_path / "a.jsonl"], embedder, tmp_path / "idx").index)
    question = "Showers in the Bahia cocoa zone"
    hits = retriever.retrieve_batch([question], embedder.encode([question]), 3)[0]
    assert len(hits) == 3 and len({h.passage.text for h in hits}) == 3  # 12 copies did not crowd the others out
    story = next(h for h in hits if h.passage.text == STORY)
    assert len({story.passage.doc_id, *story.also_in}) == 12


def test_a_re_run_with_another_figure_is_another_story():
    monday = "The Bank of England said it forecast a shortage of around 350 mln stg in the money market today."
    tuesday = monday.replace("350", "300")
    kept = collapse([_scored("mon", monday, 0.9), _scored("tue", tuesday, 0.8)], 2)
    assert [(sp.passage.doc_id, sp.also_in) for sp in kept] == [("mon", ()), ("tue", ())]
