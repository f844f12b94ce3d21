"""The registration job's events; their apply code only assigns."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, Snapshot
from eventsourcing.utils import register_topic

from domain.job_state import SubStepState
from domain.plan import PHASES
from domain.status import JobStatus, SubStepStatus

_S = SubStepStatus
JOB_TOPIC = "regflow:RegistrationJob"
_T = JOB_TOPIC + "."


class Created(Aggregate.Created):
    TOPIC = _T + "Created"
    batch_id: UUID
    organisation_id: str
    restaurant: dict[str, Any]
    execution_config: dict[str, Any]
    actor: str


class JobSnapshot(Snapshot):
    """A job's state at one version, as the library snapshots it (statuses come back as str)."""

    TOPIC = _T + "Snapshot"


register_topic(JobSnapshot.TOPIC, JobSnapshot)


class Step6Started(Aggregate.Event):
    TOPIC = _T + "Step6Started"
    actor: str

    def apply(self, job: Any) -> None:
        job.status = JobStatus.IN_PROGRESS
        job.step6_started = True


class Claimed(Aggregate.Event):
    """A worker took the job on; its calls go to `registration_api` (None: not recorded, v1)."""

    TOPIC = _T + "Claimed"
    class_version = 2
    worker_id: str
    previous_worker: str | None
    registration_api: str | None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["registration_api"] = None

    def apply(self, job: Any) -> None:
        job.worker_id = self.worker_id
        job.registration_api = self.registration_api


class PhaseStarted(Aggregate.Event):
    TOPIC = _T + "PhaseStarted"
    phase: str

    def apply(self, job: Any) -> None:
        job.phase_marks[self.phase] = "started"


class PhaseCompleted(Aggregate.Event):
    """A phase settled: `status` is `completed` or `failed`, and is the phase's true word."""

    TOPIC = _T + "PhaseCompleted"
    phase: str
    status: str

    def apply(self, job: Any) -> None:
        job.phase_marks[self.phase] = self.status


class PhaseReopened(Aggregate.Event):
    """A settled phase has work again (a resume or a reset): `status` is what it is now."""

    TOPIC = _T + "PhaseReopened"
    phase: str
    status: str
    previous_status: str

    def apply(self, job: Any) -> None:
        job.phase_marks[self.phase] = self.status


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
        state.retry_at = None
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


class SubStepRetryRequested(Aggregate.Event):
    TOPIC = _T + "SubStepRetryRequested"
    sub_step: str
    actor: str

    def apply(self, job: Any) -> None:
        job.sub_steps[self.sub_step].retry_at = self.timestamp


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
        job.last_error = f"{self.sub_step}: {self.error}"


class SubStepSkipped(Aggregate.Event):
    TOPIC = _T + "SubStepSkipped"
    sub_step: str
    reason: str
    actor: str

    def apply(self, job: Any) -> None:
        state: SubStepState = job.sub_steps[self.sub_step]
        state.status = _S.SKIPPED
        state.reason = self.reason
        state.completed_at = self.timestamp


class SubStepInterrupted(Aggregate.Event):
    TOPIC = _T + "SubStepInterrupted"
    sub_step: str
    attempt: int
    idempotency_key: str

    def apply(self, job: Any) -> None:
        state: SubStepState = job.sub_steps[self.sub_step]
        state.status = _S.RETRYING
        state.error = "interrupted: outcome unknown, retried with the same idempotency key"
        state.retry_at = self.timestamp


class ManualStatusSet(Aggregate.Event):
    TOPIC = _T + "ManualStatusSet"
    sub_step: str
    previous_status: str
    status: str
    actor: str
    reason: str
    result: dict[str, Any]
    job_status: str

    def apply(self, job: Any) -> None:
        state: SubStepState = job.sub_steps[self.sub_step]
        state.status = self.status
        state.reason = self.reason
        state.completed_at = self.timestamp
        state.retry_at = None
        state.result = self.result
        state.error = None if self.status != _S.FAILED else f"marked failed: {self.reason}"
        if self.status == _S.COMPLETED:
            job.completed_here = job.completed_here | {self.sub_step}
        job.status = self.job_status


class SubStepReset(Aggregate.Event):
    TOPIC = _T + "SubStepReset"
    sub_step: str
    cascade: list[dict[str, Any]]
    actor: str
    reason: str
    job_status: str

    def apply(self, job: Any) -> None:
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
            job.sub_steps[key].run_attempts = 0
            job.sub_steps[key].spared = 0
        for key, generation in self.new_generations.items():
            job.sub_steps[key].generation = generation
        job.status = JobStatus.IN_PROGRESS


class JobCompleted(Aggregate.Event):
    TOPIC = _T + "JobCompleted"

    def apply(self, job: Any) -> None:
        job.status = JobStatus.COMPLETED
        job.last_error = None


class JobFailed(Aggregate.Event):
    TOPIC = _T + "JobFailed"
    failed: list[str]
    blocked: list[str]
    error: str

    def apply(self, job: Any) -> None:
        job.status = JobStatus.FAILED
        job.last_error = self.error


class JobCancelled(Aggregate.Event):
    TOPIC = _T + "JobCancelled"
    actor: str
    reason: str | None
    stopped: list[str]

    def apply(self, job: Any) -> None:
        job.status = JobStatus.CANCELLED
        for key in self.stopped:
            job.sub_steps[key].status = _S.PENDING
            job.sub_steps[key].retry_at = None


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
