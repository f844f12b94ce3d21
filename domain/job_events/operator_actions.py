"""What an operator does to a job by hand: retry now, set or reset a sub-step, an edit refused,
a resume, and progress imported from the old system."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate

from domain.job_events.topic import EVENT_TOPIC_PREFIX as _T
from domain.job_state import SubStepState
from domain.plan import PHASES
from domain.quotes import prefixed
from domain.status import JobStatus, SubStepStatus

_S = SubStepStatus
# Looked up once: reading an enum's member costs more than comparing it, on every replay.
_FAILED, _COMPLETED = _S.FAILED, _S.COMPLETED


class SubStepRetryRequested(Aggregate.Event):
    """A sub-step's wait cut short by an operator. Version 2: the operator's `reason`."""

    TOPIC = _T + "SubStepRetryRequested"
    class_version = 2
    sub_step: str
    actor: str
    reason: str | None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["reason"] = None

    def apply(self, job: Any) -> None:
        state: SubStepState = job.sub_steps[self.sub_step]
        state.retry_at = self.timestamp
        state.retry_asked_by_api = False
        state.retry_now_asked = True


def _unkeyed(state: dict[str, Any]) -> None:
    """Version 1 of a manual edit's event: no warnings kept, no idempotency key."""
    state.update(warnings=[], idempotency_key=None, request_digest=None)


def _remember_answer(job: Any, edit: Any, target: str, cascade: list[str]) -> None:
    """Keep what a keyed edit was told under its request's key, for a repeat of the key."""
    key = edit.idempotency_key
    if key is None:
        return
    answer = [edit.sub_step, target, list(edit.warnings), cascade]
    earlier = job.edit_requests.get(key, {"checks": []})
    kept = {"digest": edit.request_digest, "checks": [*earlier["checks"], answer]}
    job.edit_requests = {**job.edit_requests, key: kept}


class ManualStatusSet(Aggregate.Event):
    """A sub-step set by hand. Version 2: `warnings` the operator was given, and the
    `idempotency_key` and keyed `request_digest` of the request that made it, if it had a key."""

    TOPIC = _T + "ManualStatusSet"
    class_version = 2
    sub_step: str
    previous_status: str
    status: str
    actor: str
    reason: str
    result: dict[str, Any]
    job_status: str
    warnings: list[str]
    idempotency_key: str | None
    request_digest: str | None

    upcast_v1_v2 = staticmethod(_unkeyed)

    def apply(self, job: Any) -> None:
        _remember_answer(job, self, self.status, [])
        state: SubStepState = job.sub_steps[self.sub_step]
        state.status = self.status
        state.reason = self.reason
        state.completed_at = self.timestamp
        state.retry_at = None
        state.result = self.result
        state.skipped_by_rule = False
        state.error = None if self.status != _FAILED else prefixed("marked failed: ", self.reason)
        if self.status == _FAILED and self.previous_status == _COMPLETED:
            # The operator says what the API did was undone: a resume calls with a new key,
            # which the API executes (the old key would replay the old answer).
            state.transient = False
        if self.status == _COMPLETED:
            job.completed_here = job.completed_here | {self.sub_step}
        job.status = self.job_status


class SubStepReset(Aggregate.Event):
    """A sub-step reset by hand, with its cascade. Version 2: `warnings` the operator was
    given, and the `idempotency_key` and keyed `request_digest` of the request that made it,
    if it had a key."""

    TOPIC = _T + "SubStepReset"
    class_version = 2
    sub_step: str
    cascade: list[dict[str, Any]]
    actor: str
    reason: str
    job_status: str
    warnings: list[str]
    idempotency_key: str | None
    request_digest: str | None

    upcast_v1_v2 = staticmethod(_unkeyed)

    def apply(self, job: Any) -> None:
        _remember_answer(job, self, _S.PENDING.value, [c["sub_step"] for c in self.cascade])
        for item in self.cascade:
            job.sub_steps[item["sub_step"]] = SubStepState(generation=item["generation"])
        job.status = self.job_status


class EditRefused(Aggregate.Event):
    TOPIC = _T + "EditRefused"
    actor: str
    edit: dict[str, Any]
    errors: list[str]


class ResumeRequested(Aggregate.Event):
    """A stopped job resumes: `resuming_from` is the seed's last complete phase (None: none),
    `resume_plan` the phase where work resumes and the sub-steps that will run, in plan order;
    `new_generations` the failed-for-good sub-steps whose next call uses a new key."""

    TOPIC = _T + "ResumeRequested"
    class_version = 2
    actor: str
    reason: str | None
    resuming_from: str | None
    resume_plan: dict[str, Any]
    fresh_attempts: list[str]
    new_generations: dict[str, int]

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """Version 1 named the phase where work started; its sub-steps were not recorded."""
        started_in = state["resuming_from"]
        phases = PHASES
        index = phases.index(started_in) if started_in in phases else len(phases)
        state["resuming_from"] = phases[index - 1] if index > 0 else None
        state["resume_plan"] = {"phase": started_in, "sub_steps": None}
        state["new_generations"] = {}

    def apply(self, job: Any) -> None:
        for key in self.fresh_attempts:
            job.sub_steps[key].status = _S.PENDING
            job.sub_steps[key].completed_at = None
            job.sub_steps[key].run_attempts = 0
            job.sub_steps[key].spared = 0
        for key, generation in self.new_generations.items():
            job.sub_steps[key].generation = generation
        job.status = JobStatus.IN_PROGRESS


class LegacyProgressImported(Aggregate.Event):
    TOPIC = _T + "LegacyProgressImported"
    actor: str
    sub_steps: dict[str, dict[str, Any]]
    context: dict[str, Any] | None
    job_status: str

    def apply(self, job: Any) -> None:
        for key, item in self.sub_steps.items():
            job.sub_steps[key] = SubStepState(
                status=item["status"],
                attempts=item.get("attempts", 0),
                error=item.get("error"),
                result=item.get("result", {}),
            )
        job.imported_context = self.context
        job.step6_started = True
        job.status = self.job_status
