"""Prometheus metrics of flow control: the limit, calls waiting per organisation, 429s, pauses."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

api_limit = Gauge("regflow_api_limit", "Calls this process may have in flight to the API now.")
api_calls_waiting = Gauge(
    "regflow_api_calls_waiting",
    "Calls waiting for API capacity, by organisation.",
    ["organisation"],
)
api_over_capacity = Counter(
    "regflow_api_over_capacity_total",
    "Calls answered 429 (or 503 with Retry-After): over the API's capacity.",
    ["sub_step", "status"],
)
api_pauses = Counter(
    "regflow_api_pauses_total", "Pauses of an endpoint on a Retry-After.", ["sub_step"]
)
api_limit_changes = Counter(
    "regflow_api_limit_changes_total", "Changes of the adaptive limit.", ["direction"]
)
