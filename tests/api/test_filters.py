"""Filters, dates and sources end to end over the real models and a small dated archive: POST /v1/ask, the
official OpenAI client (extra body and metadata), GET /v1/sources; bad filters are 422s naming the field."""

import openai
import pytest
from fastapi.testclient import TestClient

from api.app import create_app

pytestmark = pytest.mark.slow
QUESTION = "How many bags is the Bahia cocoa crop expected to total?"


@pytest.fixture(scope="module")
def api(archive_service):
    # From this machine: writes need no key.
    with TestClient(create_app(archive_service.settings, loader=lambda _s: archive_service),
                    client=("127.0.0.1", 50000)) as client:
        yield client


def _ask(api, **more):
    return api.post("/v1/ask", json={"question": QUESTION, **more})


@pytest.mark.parametrize("filters, doc, published, source", [
    ({"sources": ["reuters21578"], "until": "1987-03-01"}, "reuters-cocoa", "1987-02-26T15:01:01Z", "reuters21578"),
    ({"sources": ["BBC"]}, "bbc-cocoa", "2005-03-10", "bbc"),
    ({"since": "2000-01-01", "topics": ["cocoa"]}, "bbc-cocoa", "2005-03-10", "bbc"),
    ({"since": "2000-01-01", "topics": ["COCOA"]}, "bbc-cocoa", "2005-03-10", "bbc"),  # case does not matter
])
def test_a_filtered_question_is_answered_from_the_filtered_stories_with_date_and_source(api, filters, doc, published,
                                                                                       source):
    body = _ask(api, filters=filters).json()
    assert body["answers"], body
    c = body["answers"][0]["citation"]
    assert (c["doc_id"], c["published"], c["source"]) == (doc, published, source)
    assert {p["doc_id"] for p in body["passages"]} <= {"reuters-cocoa", "bbc-cocoa", "reuters-grain"}
    assert all(p["source"] == source for p in body["passages"])
    passage = next(p for p in body["passages"] if p["id"] == body["answers"][0]["passage_id"])
    assert passage["text"][c["start"]:c["end"]] == body["answers"][0]["text"]


def test_preferring_newer_stories_orders_answers_but_never_raises_their_probability(api):
    def spans(body):
        return {(a["passage_id"], a["citation"]["start"]): a["score"] for a in body["answers"]}

    plain = _ask(api, max_answers=3).json()
    recent = _ask(api, max_answers=3, recency_half_life_days=30).json()
    assert recent["answers"][0]["citation"]["doc_id"] == "bbc-cocoa", recent  # the 2005 story first
    common = spans(plain).keys() & spans(recent).keys()
    assert common and all(spans(plain)[k] == spans(recent)[k] for k in common), (plain, recent)


def test_a_filter_matching_nothing_says_so(api):
    r = _ask(api, filters={"sources": ["reuters21578"], "since": "2023-01-01"})
    assert r.status_code == 404
    assert r.json()["message"] == "no documents from reuters21578 published since 2023-01-01 in the index"


@pytest.mark.parametrize("filters, field", [
    ({"publisher": ["bbc"]}, "publisher"),
    ({"since": "2005-01-02", "until": "2005-01-01"}, "since"),
    ({"since": "last tuesday"}, "since"),
    ({"until": "1987-13-45"}, "until"),
    ({"sources": "bbc"}, "sources"),
])
def test_bad_filters_are_422_naming_the_field(api, filters, field):
    r = _ask(api, filters=filters)
    assert r.status_code == 422 and field in r.json()["message"], r.json()
    assert _ask(api, recency_half_life_days=-1).status_code == 422
    r = _ask(api, recency_half_life_days=0)  # the bound reads as a number, not 0.041666666666666664
    assert r.status_code == 422 and r.json()["message"] == \
        "recency_half_life_days: Input should be greater than or equal to 0.04167", r.json()


@pytest.mark.parametrize("until", ["9999", "9999-12", "9999-12-31", "9999-12-31T23:59:59Z"])
def test_an_until_at_the_end_of_time_bounds_nothing(api, until):
    # The moment after it is in the year 10000, which no datetime holds: it was a 500.
    r = _ask(api, filters={"until": until, "sources": ["bbc"]})
    assert r.status_code == 200 and r.json()["answers"][0]["citation"]["doc_id"] == "bbc-cocoa", r.json()


@pytest.mark.parametrize("filters", [{"since": "1000-01-01T00:30:00+01:00"}, {"until": "9999-12-31T23:30:00-01:00"},
                                     {"since": "0001-01-01"}])
def test_a_date_outside_the_years_1000_to_9999_in_utc_is_422(api, filters):
    r = _ask(api, filters=filters)
    assert r.status_code == 422 and "1000 to 9999" in r.json()["message"], r.json()


def test_a_blank_filter_value_is_refused_never_dropped(api):
    # Dropping it would have asked the whole index what was meant for one story.
    for body in ({"doc_ids": ["  "]}, {"filters": {"doc_ids": [" "]}}, {"filters": {"topics": ["  "]}},
                 {"filters": {"sources": ["\t"]}}):
        r = _ask(api, **body)
        assert r.status_code == 422 and "blank" in r.json()["message"], (body, r.json())


def test_doc_ids_over_the_bound_in_two_places_is_a_422_not_a_500(api):
    r = _ask(api, doc_ids=[f"a{i}" for i in range(60)], filters={"doc_ids": [f"b{i}" for i in range(60)]})
    assert r.status_code == 422 and "doc_ids" in r.json()["message"], r.json()


def test_until_in_the_year_9999_still_leaves_out_undated_stories(api):
    # "until" bounds nothing else, but a story without a date passes no date filter (it did, here only).
    api.put("/v1/documents/undated-9999", json={"text": "The silver mine at Potosi was run by Ana Quispe."})
    try:
        r = _ask(api, question="Who ran the silver mine at Potosi?", doc_ids=["undated-9999"], filters={"until": "9999"})
        assert r.status_code == 404, r.json()
    finally:
        api.delete("/v1/documents/undated-9999")


def test_a_topic_matches_whatever_its_case_beyond_ascii(api):
    api.put("/v1/documents/topic-case", json={"text": "The bauxite refinery in Kindia was run by Amadou Diallo.",
                                               "topics": ["Économie"]})
    try:
        for topic in ("Économie", "économie", "ÉCONOMIE"):
            r = _ask(api, question="Who ran the bauxite refinery in Kindia?", filters={"topics": [topic]})
            assert r.status_code == 200 and r.json()["answers"][0]["citation"]["doc_id"] == "topic-case", topic
    finally:
        api.delete("/v1/documents/topic-case")


def test_sources_lists_publishers_and_the_span_of_dates(api):
    body = api.get("/v1/sources").json()
    assert body == {"sources": [{"name": "reuters21578", "documents": 2}, {"name": "bbc", "documents": 1}],
                    "published": {"first": "1987-02-26", "last": "2005-03-10"}}
    listed = {d["id"]: d for d in api.get("/v1/documents").json()["documents"]}
    assert listed["bbc-cocoa"]["source"] == "bbc" and listed["bbc-cocoa"]["topics"] == ["cocoa", "business"]


def test_documents_added_over_http_keep_a_normalised_date_and_refuse_another(api):
    r = api.put("/v1/documents/wire-1", json={"text": "Cocoa arrivals in Ilheus reached 40,000 bags.",
                                              "published": "Thu, 05 Mar 1987 10:00:00 +0100", "source": "wire",
                                              "topics": ["cocoa"]})
    assert r.status_code == 201 and r.json()["published"] == "1987-03-05T09:00:00Z" and r.json()["source"] == "wire"
    try:
        r = api.put("/v1/documents/wire-2", json={"text": "Cocoa.", "published": "early March"})
        assert r.status_code == 422 and r.json()["message"].startswith("published:")
        body = _ask(api, filters={"sources": ["wire"]}).json()
        assert body["passages"] and {p["doc_id"] for p in body["passages"]} == {"wire-1"}
    finally:
        api.delete("/v1/documents/wire-1")


def test_the_official_openai_client_sends_filters_in_the_extra_body_or_the_metadata(archive_server):
    client = openai.OpenAI(base_url=f"{archive_server}/v1", api_key="not-needed", max_retries=0)
    messages = [{"role": "user", "content": QUESTION}]
    r = client.chat.completions.create(model="news-qa", messages=messages,
                                       extra_body={"filters": {"sources": ["bbc"]}})
    assert r.model_extra["citations"][0]["citation"]["doc_id"] == "bbc-cocoa"
    assert "bbc" in r.choices[0].message.content and "10 Mar 2005" in r.choices[0].message.content
    r = client.chat.completions.create(model="news-qa", messages=messages,
                                       metadata={"sources": "reuters21578", "until": "1987-03-01"})
    assert r.model_extra["citations"][0]["citation"]["doc_id"] == "reuters-cocoa"
    with pytest.raises(openai.NotFoundError) as nothing:
        client.chat.completions.create(model="news-qa", messages=messages, metadata={"sources": "nobody"})
    assert "no documents from nobody" in nothing.value.message
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="news-qa", messages=messages, extra_body={"filters": {"since": "soon"}})
    assert "since" in bad.value.message
    assert bad.value.body["param"] == "filters"
    # A malformed filter in OpenAI's metadata names metadata; one that only fails with the other part (since
    # after until) is still refused.
    for metadata in ({"since": "notadate"}, {"recency_half_life_days": "soon"}):
        with pytest.raises(openai.BadRequestError) as bad:
            client.chat.completions.create(model="news-qa", messages=messages, metadata=metadata)
        assert bad.value.body["param"] == "metadata" and list(metadata)[0] in bad.value.message
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="news-qa", messages=messages, metadata={"since": "1987-03-02"},
                                       extra_body={"filters": {"until": "1987-03-01"}})
    assert "after until" in bad.value.message
    # One date in both places: taking either would widen the other, so it is refused (metadata won, once).
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="news-qa", messages=messages, metadata={"since": "1987"},
                                       extra_body={"filters": {"since": "2000"}})
    assert "given twice" in bad.value.message
    # A blank metadata value ("," or "") is refused too, not dropped into a question of the whole index.
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="news-qa", messages=messages, metadata={"since": ""})
    assert "not a date" in bad.value.message
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="news-qa", messages=messages, metadata={"doc_ids": ","})
    assert "blank" in bad.value.message
