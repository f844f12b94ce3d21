"""Prometheus metrics of flow control: the limit, calls waiting per organisation, 429s, pauses."""

from __future__ import annotations

from infrastructure.metrics import counter, gauge

OVER_CAPACITY = "Calls answered 429 (or 503 with Retry-After): over the API's capacity."

api_limit = gauge("api_limit", "Calls this process may have in flight to the API now.")
api_calls_waiting = gauge(
    "api_calls_waiting", "Calls waiting for API capacity, by organisation.", "organisation"
)
api_over_capacity = counter("api_over_capacity_total", OVER_CAPACITY, "sub_step", "status")
api_pauses = counter("api_pauses_total", "Pauses of an endpoint on a Retry-After.", "sub_step")
api_limit_changes = counter(
    "api_limit_changes_total", "Changes of the adaptive limit.", "direction"
)
