"""Decisions of the engine as values: what an attempt's outcome becomes, and how a run ended."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.retry import RetryPolicy
from domain.status import JobStatus


class AttemptOutcome(StrEnum):
    """What came back from one call of a sub-step."""

    SUCCEEDED = "succeeded"
    FAILED_TRANSIENTLY = "failed_transiently"
    FAILED_PERMANENTLY = "failed_permanently"
    OVER_CAPACITY = "over_capacity"  # a 429 (or a 503 with Retry-After): up, but full
    UNANSWERED = "unanswered"  # the worker calling it died or lost its lease
    NOT_MADE = "not_made"  # never sent: the store could not be read just before it


class AttemptDecision(StrEnum):
    """What the job records for an attempt (also the label of the outcome metric)."""

    COMPLETED = "completed"
    RETRY = "retry"
    SPARED = "spared"  # retried, not counted: the API was down for everyone, full, or not called
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # retried with the same idempotency key


@dataclass(frozen=True)
class Ruling:
    """A decision, with the wait before the next attempt when there is one."""

    decision: AttemptDecision
    delay: float = 0.0

    @property
    def retries(self) -> bool:
        return self.decision in (AttemptDecision.RETRY, AttemptDecision.SPARED)


def outcome_of(
    ok: bool, transient: bool, over_capacity: bool = False, made: bool = True
) -> AttemptOutcome:
    """The outcome of a call that came back, or of one that was never sent."""
    if not made:
        return AttemptOutcome.NOT_MADE
    if ok:
        return AttemptOutcome.SUCCEEDED
    if not transient:
        return AttemptOutcome.FAILED_PERMANENTLY
    return AttemptOutcome.OVER_CAPACITY if over_capacity else AttemptOutcome.FAILED_TRANSIENTLY


def counted_attempts(run_attempts: int, spared: int) -> int:
    """Attempts of this run that count against the policy: those lost to an outage do not."""
    return max(1, run_attempts - spared)


def rule(
    outcome: AttemptOutcome,
    *,
    policy: RetryPolicy,
    counted: int,
    outage: bool,
    fraction: float,
    retry_after: float | None = None,
) -> Ruling:
    """Complete, retry, spare or fail an attempt; `counted` is the attempt number that counts."""
    if outcome is AttemptOutcome.SUCCEEDED:
        return Ruling(AttemptDecision.COMPLETED)
    if outcome is AttemptOutcome.FAILED_PERMANENTLY:
        return Ruling(AttemptDecision.FAILED)
    if outcome is AttemptOutcome.UNANSWERED:
        return Ruling(AttemptDecision.INTERRUPTED)
    if outcome is AttemptOutcome.OVER_CAPACITY:
        return Ruling(AttemptDecision.SPARED, policy.delay_when_full(fraction, retry_after))
    delay = policy.delay_before(counted, fraction, retry_after)
    if outage or outcome is AttemptOutcome.NOT_MADE:
        return Ruling(AttemptDecision.SPARED, delay)
    if not policy.may_retry(counted):
        return Ruling(AttemptDecision.FAILED)
    return Ruling(AttemptDecision.RETRY, delay)


class RunEnd(StrEnum):
    """How one worker's run of one job ended."""

    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    NOT_RUNNING = "not running"  # nothing to do: the job was no longer in progress
    STOPPED = "stopped"  # the engine is shutting down
    LOST = "lost"  # another worker has the job, or our lease ran out
    STORE_UNAVAILABLE = "store unavailable"  # transient store errors outlasted the lease
    BROKEN = "broken"  # an error that is not transient: a bug; the job is quarantined
    OTHER_API = "other api"  # the job's calls went to the other kind of registration API

    @classmethod
    def of_status(cls, status: str) -> RunEnd:
        """The end of a run that stopped because the job reached `status`."""
        return {
            JobStatus.COMPLETED: cls.COMPLETED,
            JobStatus.FAILED: cls.FAILED,
            JobStatus.CANCELLED: cls.CANCELLED,
        }.get(JobStatus(status), cls.NOT_RUNNING)

    @property
    def releases_lease(self) -> bool:
        """Whether the lease is given back: a lost lease is not ours to release."""
        return self is not RunEnd.LOST

    @property
    def settled(self) -> bool:
        """Whether the job reached a final status, so polling it again soon is pointless."""
        return self in (RunEnd.COMPLETED, RunEnd.FAILED, RunEnd.CANCELLED, RunEnd.NOT_RUNNING)

    @property
    def quarantines(self) -> bool:
        """Whether the job is set aside with backoff instead of picked up again at once."""
        return self is RunEnd.BROKEN


def quarantine_seconds(strikes: int, base: float = 30.0, cap: float = 900.0) -> float:
    """How long a job that broke `strikes` times in a row is left alone: doubling, capped."""
    if strikes < 1:
        raise ValueError(f"strikes start at 1, got {strikes}")
    return float(min(base * 2 ** min(strikes - 1, 32), cap))
