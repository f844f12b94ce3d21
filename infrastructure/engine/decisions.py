"""Turning a call's outcome into the job command that records it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from domain.failures import is_over_capacity
from domain.job import RegistrationJob
from domain.retry import RetryPolicy
from infrastructure.executors.port import CallOutcome


@dataclass(frozen=True)
class Decision:
    """What an outcome becomes: completed, a retry after `delay`, or failed."""

    kind: str
    delay: float = 0.0


def decide(
    job: RegistrationJob,
    key: str,
    outcome: CallOutcome,
    policy: RetryPolicy,
    fraction: float,
    spared: int,
    outage: bool,
) -> Decision:
    """Complete, retry or fail; attempts lost to an API outage (`spared`) do not count."""
    if outcome.ok:
        return Decision("completed")
    if not outcome.transient:
        return Decision("failed")
    if is_over_capacity(outcome.status, outcome.retry_after):
        return Decision("retry", policy.delay_when_full(fraction, outcome.retry_after))
    counted = max(1, job.sub_steps[key].run_attempts - spared)
    if not outage and not policy.may_retry(counted):
        return Decision("failed")
    return Decision("retry", policy.delay_before(counted, fraction, outcome.retry_after))


def record(key: str, outcome: CallOutcome, decision: Decision) -> Callable[[RegistrationJob], Any]:
    """The command that records `decision` on a job."""
    error = outcome.error or "failed"

    def command(job: RegistrationJob) -> Any:
        if decision.kind == "completed":
            return job.complete_sub_step(key, outcome.result)
        if decision.kind == "retry":
            honoured = outcome.retry_after is not None
            return job.schedule_retry(key, error, decision.delay, retry_after=honoured)
        return job.fail_sub_step(key, error, outcome.transient)

    return command
