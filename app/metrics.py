"""Prometheus metrics: requests by route and status, touches by channel and kind."""

from prometheus_client import Counter, Histogram

from app.touches.schemas import WELL_KNOWN_CHANNELS

REQUESTS = Counter(
    "touchbase_http_requests_total", "HTTP requests answered.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "touchbase_http_request_duration_seconds",
    "Time to answer an HTTP request.",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
TOUCHES = Counter(
    "touchbase_touches_ingested_total", "Touches stored (duplicates excluded).", ["channel", "kind"]
)
REFRESHED = Counter(
    "touchbase_verdicts_refreshed_total",
    "Customers whose stored verdict the background refresher renewed.",
    ["cause"],  # marked: something was written; expired: time made it untrue
)
EVENT_DELIVERIES = Counter(
    "touchbase_event_deliveries_total",
    "Attempts to deliver outbound events, by what became of the delivery and the receiver's"
    " answer.",
    ["outcome", "status"],  # succeeded|pending (to be retried)|failed; 2xx..5xx or none
)
TOUCHES_EXPIRED = Counter(
    "touchbase_touches_expired_total",
    "Touches deleted because they occurred before the policy's retention_days.",
)
_KNOWN = frozenset(WELL_KNOWN_CHANNELS)


def record_touch(channel: str, kind: str, count: int = 1) -> None:
    # Any slug is a valid channel; folding the unknown ones keeps the label set bounded.
    TOUCHES.labels("custom" if channel not in _KNOWN else channel, kind).inc(count)


def record_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def record_delivery(outcome: str, status: int | None) -> None:
    EVENT_DELIVERIES.labels(outcome, f"{status // 100}xx" if status else "none").inc()
