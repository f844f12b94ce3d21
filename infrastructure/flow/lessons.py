"""What an answer teaches flow control: overload, a pause asked for, or room to grow."""

from __future__ import annotations

import logging

from domain.failures import is_over_capacity
from infrastructure.executors.port import CallOutcome
from infrastructure.flow import metrics
from infrastructure.flow.limiter import AdaptiveLimit

log = logging.getLogger("regflow.flow")
MAX_PAUSE = 300.0


def pause_asked(sub_step: str, outcome: CallOutcome) -> float | None:
    """Seconds to pause `sub_step`'s endpoint when an over-capacity answer said when to return."""
    if not is_over_capacity(outcome.status, outcome.retry_after):
        return None
    metrics.api_over_capacity.labels(sub_step, str(outcome.status)).inc()
    if outcome.retry_after is None:
        return None
    metrics.api_pauses.labels(sub_step).inc()
    return min(outcome.retry_after, MAX_PAUSE)


def teach(
    limit: AdaptiveLimit,
    sub_step: str,
    outcome: CallOutcome,
    seconds: float,
    in_flight: int,
    call: str | None = None,
) -> None:
    """A success may grow the limit; a 429, a 503, a timeout or a lost connection cut it.
    `call` names the job's sub-step that was called (its retries share it)."""
    if outcome.ok:
        limit.succeeded(sub_step, seconds, in_flight)
        return
    over = is_over_capacity(outcome.status, outcome.retry_after)
    if over or outcome.status == 503 or (outcome.transient and outcome.status is None):
        reason = f"HTTP {outcome.status}" if outcome.status else "timeout or connection error"
        limit.overloaded(in_flight, seconds, reason, call)


def log_change(before: int, after: int, reason: str) -> None:
    """Count and log a change of the adaptive limit (`regflow serve` shows it); slow start
    is logged at powers of two only."""
    direction = "up" if after > before else "down"
    metrics.api_limit_changes.labels(direction).inc()
    metrics.api_limit.set(after)
    quiet = reason == "slow start" and after & (after - 1) != 0
    level = logging.DEBUG if quiet else logging.INFO
    log.log(level, "API concurrency limit %d -> %d (%s)", before, after, reason)
