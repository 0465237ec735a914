"""The application's own metrics: questions by outcome, time per pipeline stage, index size, load time.

They live beside the one service, so that every channel's questions are counted (HTTP, OpenAI, Slack, CLI);
the HTTP layer adds its request metrics to the same registry.
"""

from __future__ import annotations

from typing import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from qa.types import QAResult

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class QuestionMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = CollectorRegistry() if registry is None else registry
        r = self.registry
        self.stages = Histogram("qa_stage_seconds", "Time per question in each pipeline stage", ["stage"],
                                buckets=LATENCY_BUCKETS, registry=r)
        self.questions = Counter("qa_questions_total", "Questions answered, by outcome and channel",
                                 ["outcome", "channel"], registry=r)
        self.busy = Counter("qa_questions_refused_total", "Questions refused because the models were busy",
                            ["channel"], registry=r)
        self.stopped = Counter("qa_questions_stopped_total", "Questions whose work was stopped: past their deadline "
                               "or abandoned by their client", ["channel"], registry=r)
        self.index_passages = Gauge("qa_index_passages", "Passages in the served index", registry=r)
        self.index_documents = Gauge("qa_index_documents", "Documents in the served index", registry=r)
        self.model_load = Gauge("qa_model_load_seconds", "Time to load models and index at start-up", registry=r)

    def observe(self, result: QAResult, channel: str) -> None:
        for stage in ("embed", "retrieve", "read"):
            if stage in result.timings_ms:
                self.stages.labels(stage).observe(result.timings_ms[stage] / 1000)
        self.questions.labels("no_answer" if result.no_answer else "answer", channel).inc()

    def track_index(self, sizes: Callable[[], tuple[int, int]]) -> None:
        """Index size read at scrape time: ``sizes()`` gives (passages, documents)."""
        self.index_passages.set_function(lambda: sizes()[0])
        self.index_documents.set_function(lambda: sizes()[1])
