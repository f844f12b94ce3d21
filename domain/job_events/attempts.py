"""The engine's record of each sub-step attempt: started, waiting to retry, completed, failed,
skipped or interrupted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate

from domain.job_events.topic import EVENT_TOPIC_PREFIX as _T
from domain.job_state import SubStepState
from domain.plan import PLAN
from domain.quotes import prefixed
from domain.status import SubStepStatus

_S = SubStepStatus


class SubStepStarted(Aggregate.Event):
    """An attempt began; `trace_id`/`span_id` name its span (version 1 events had none)."""

    TOPIC = _T + "SubStepStarted"
    class_version = 2
    sub_step: str
    attempt: int
    run_attempt: int
    generation: int
    idempotency_key: str
    trace_id: str | None
    span_id: str | None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["trace_id"] = None
        state["span_id"] = None

    def apply(self, job: Any) -> None:
        state: SubStepState = job.sub_steps[self.sub_step]
        state.status = _S.IN_PROGRESS
        state.attempts = self.attempt
        state.run_attempts = self.run_attempt
        state.started_at = self.timestamp
        state.completed_at = None
        state.retry_at = None
        state.retry_now_asked = False
        state.trace_id = self.trace_id
        state.span_id = self.span_id


class SubStepRetryScheduled(Aggregate.Event):
    TOPIC = _T + "SubStepRetryScheduled"
    class_version = 2
    sub_step: str
    attempt: int
    error: str
    delay: float
    retry_at: datetime
    honoured_retry_after: bool
    counted: bool  # False: the attempt was lost to an API outage and does not count

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["counted"] = True

    def apply(self, job: Any) -> None:
        state: SubStepState = job.sub_steps[self.sub_step]
        state.spared += 0 if self.counted else 1
        state.status = _S.RETRYING
        state.error = self.error
        state.transient = True
        state.retry_at = self.retry_at
        state.retry_asked_by_api = self.honoured_retry_after


class SubStepCompleted(Aggregate.Event):
    TOPIC = _T + "SubStepCompleted"
    sub_step: str
    attempt: int
    result: dict[str, Any]

    def apply(self, job: Any) -> None:
        state: SubStepState = job.sub_steps[self.sub_step]
        state.status = _S.COMPLETED
        state.completed_at = self.timestamp
        state.result = self.result
        state.error = None
        state.transient = None
        job.completed_here = job.completed_here | {self.sub_step}


class SubStepFailed(Aggregate.Event):
    TOPIC = _T + "SubStepFailed"
    sub_step: str
    attempt: int
    error: str
    transient: bool
    attempts: int

    def apply(self, job: Any) -> None:
        state: SubStepState = job.sub_steps[self.sub_step]
        state.status = _S.FAILED
        state.completed_at = self.timestamp
        state.error = self.error
        state.transient = self.transient
        job.last_error = prefixed(f"{self.sub_step}: ", self.error)


class SubStepSkipped(Aggregate.Event):
    """A sub-step skipped without a call: by the menu rule (`by_rule`), or because the
    execution_config switches it off. Version 2: `by_rule` (version 1 events skipped by the
    rule are known by its reason)."""

    TOPIC = _T + "SubStepSkipped"
    class_version = 2
    sub_step: str
    reason: str
    actor: str
    by_rule: bool

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["by_rule"] = skipped_by_the_rule(state["sub_step"], state["reason"])

    def apply(self, job: Any) -> None:
        state: SubStepState = job.sub_steps[self.sub_step]
        state.status = _S.SKIPPED
        state.reason = self.reason
        state.completed_at = self.timestamp
        state.skipped_by_rule = self.by_rule


class SubStepReopened(Aggregate.Event):
    """A sub-step the menu rule had skipped is pending again: the reason for the skip is gone
    (its dependency completed with the flag the rule wants, or is to run again). A completed
    job is reopened with it (`job_status`): it has a sub-step to run."""

    TOPIC = _T + "SubStepReopened"
    sub_step: str
    reason: str
    actor: str
    job_status: str

    def apply(self, job: Any) -> None:
        state: SubStepState = job.sub_steps[self.sub_step]
        state.status = _S.PENDING
        state.reason = None
        state.completed_at = None
        state.skipped_by_rule = False
        job.status = self.job_status


def skipped_by_the_rule(key: str, reason: str | None) -> bool:
    """Whether a skip of `key` with `reason`, recorded before skips said who decided them, was
    the menu rule's: its reason is the rule's own."""
    condition = PLAN.sub_step(key).runs_if
    return condition is not None and reason == condition.unmet_reason


class SubStepInterrupted(Aggregate.Event):
    """A call's outcome is unknown; `actor` recorded it: the engine that took the job over, or
    the operator whose edit found the call orphaned (version 1 events had none: the engine's)."""

    TOPIC = _T + "SubStepInterrupted"
    class_version = 2
    sub_step: str
    attempt: int
    idempotency_key: str
    actor: str

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["actor"] = "engine"

    def apply(self, job: Any) -> None:
        state: SubStepState = job.sub_steps[self.sub_step]
        state.status = _S.RETRYING
        state.error = "interrupted: outcome unknown, retried with the same idempotency key"
        state.retry_at = self.timestamp
        state.retry_asked_by_api = False
