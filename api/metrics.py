"""Prometheus metrics of one app (its own registry): requests, latencies per route and stage, answers, index."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST  # noqa: F401 - re-exported for the /metrics route

from qa.types import QAResult

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("qa_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=r)
        self.latency = Histogram("qa_http_request_seconds", "HTTP request latency", ["route"],
                                 buckets=_LATENCY_BUCKETS, registry=r)
        self.stages = Histogram("qa_stage_seconds", "Time per question in each pipeline stage", ["stage"],
                                buckets=_LATENCY_BUCKETS, registry=r)
        self.questions = Counter("qa_questions_total", "Questions answered, by outcome", ["outcome"], registry=r)
        self.index_passages = Gauge("qa_index_passages", "Paragraphs in the served index", registry=r)
        self.index_documents = Gauge("qa_index_documents", "Documents in the served index", registry=r)
        self.model_load = Gauge("qa_model_load_seconds", "Time to load models and index at start-up", registry=r)
        self.rejected = Counter("qa_rejected_requests_total", "Requests refused before reaching a route",
                                ["reason"], registry=r)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def observe_result(self, result: QAResult) -> None:
        for stage in ("embed", "retrieve", "read"):
            if stage in result.timings_ms:
                self.stages.labels(stage).observe(result.timings_ms[stage] / 1000)
        self.questions.labels("no_answer" if result.no_answer else "answer").inc()

    def track_index(self, current) -> None:
        """Index size read at scrape time from ``current()`` (a StoredIndex or None)."""
        self.index_passages.set_function(lambda: len(current().passages) if current() is not None else 0)
        self.index_documents.set_function(lambda: len(current().documents) if current() is not None else 0)

    def render(self) -> bytes:
        return generate_latest(self.registry)
