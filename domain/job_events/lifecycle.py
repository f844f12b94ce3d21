"""A job's life as a whole: created, Step 6 started, claimed, finished or cancelled; and its
snapshots."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, Snapshot
from eventsourcing.utils import register_topic

from domain.job_events.attempts import skipped_by_the_rule
from domain.job_events.topic import EVENT_TOPIC_PREFIX as _T
from domain.status import JobStatus, SubStepStatus

_S = SubStepStatus


class Created(Aggregate.Created):
    TOPIC = _T + "Created"
    batch_id: UUID
    organisation_id: str
    restaurant: dict[str, Any]
    execution_config: dict[str, Any]
    actor: str


class JobSnapshot(Snapshot):
    """A job's state at one version, as the library snapshots it (statuses come back as str).
    Version 2: each sub-step says whether the menu rule skipped it (in version 1 snapshots,
    known by the rule's reason)."""

    TOPIC = _T + "Snapshot"
    class_version = 2

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        for key, sub_step in state["state"]["sub_steps"].items():
            skipped = _field(sub_step, "status") == _S.SKIPPED
            by_rule = skipped and skipped_by_the_rule(key, _field(sub_step, "reason"))
            if isinstance(sub_step, dict):
                sub_step["skipped_by_rule"] = by_rule
            else:
                sub_step.skipped_by_rule = by_rule


def _field(sub_step: Any, name: str) -> Any:
    """A field of a sub-step's state in a snapshot, decoded or not."""
    return sub_step.get(name) if isinstance(sub_step, dict) else getattr(sub_step, name, None)


register_topic(JobSnapshot.TOPIC, JobSnapshot)


class Step6Started(Aggregate.Event):
    """Step 6 started. Version 2: the `reason` of an operator who started it by resuming a job
    cancelled before it started (none when started as a batch's jobs are)."""

    TOPIC = _T + "Step6Started"
    class_version = 2
    actor: str
    reason: str | None

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["reason"] = None

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
            job.sub_steps[key].retry_now_asked = False


# The events after which a job rests: nothing happens to it until an operator acts again.
RESTING_TOPICS = frozenset({JobCompleted.TOPIC, JobFailed.TOPIC, JobCancelled.TOPIC})
