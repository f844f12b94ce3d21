"""Turning a call's outcome into the job command that records it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.failures import is_over_capacity
from domain.job import RegistrationJob
from domain.outcomes import AttemptDecision, Ruling, counted_attempts, outcome_of, rule
from domain.retry import RetryPolicy
from infrastructure.executors.port import CallOutcome


def decide(
    job: RegistrationJob,
    key: str,
    outcome: CallOutcome,
    policy: RetryPolicy,
    fraction: float,
    outage: bool,
) -> Ruling:
    """Complete, retry or fail; attempts lost to an outage or a full API, and calls never
    sent, do not count."""
    state = job.sub_steps[key]
    spared = state.spared + (1 if outage or not outcome.made else 0)
    full = is_over_capacity(outcome.status, outcome.retry_after)
    return rule(
        outcome_of(outcome.ok, outcome.transient, full, outcome.made),
        policy=policy,
        counted=counted_attempts(state.run_attempts, spared),
        outage=outage,
        fraction=fraction,
        retry_after=outcome.retry_after,
    )


def record(key: str, outcome: CallOutcome, ruling: Ruling) -> Callable[[RegistrationJob], Any]:
    """The command that records `ruling` on a job."""
    error = outcome.error or "failed"

    def command(job: RegistrationJob) -> Any:
        if ruling.decision is AttemptDecision.COMPLETED:
            return job.complete_sub_step(key, outcome.result)
        if ruling.retries:
            honoured = outcome.retry_after is not None
            counted = ruling.decision is not AttemptDecision.SPARED
            return job.schedule_retry(
                key, error, ruling.delay, retry_after=honoured, counted=counted
            )
        return job.fail_sub_step(key, error, outcome.transient)

    return command
