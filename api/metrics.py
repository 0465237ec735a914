"""The HTTP layer's Prometheus metrics (requests and latency per route, refusals); the application adds its
question metrics (service.metrics) and /metrics renders both."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST  # noqa: F401 - re-exported for the /metrics route

from service.metrics import LATENCY_BUCKETS


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("qa_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=r)
        self.latency = Histogram("qa_http_request_seconds", "HTTP request latency", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=r)
        self.rejected = Counter("qa_rejected_requests_total", "Requests refused before reaching a route",
                                ["reason"], registry=r)

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(route).observe(seconds)

    def render(self, *more: CollectorRegistry) -> bytes:
        return b"".join(generate_latest(r) for r in (self.registry, *more))
