"""The registration job aggregate: every Step 6 change of one restaurant is an event.

The aggregate binds its events here, where the library redefines them on it; its commands live
beside it by who gives them (`job_engine_commands`, `job_operator_commands`), the checks they make
in `job_checks`, and the questions its state answers in `job_state`.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import job_events as ev
from domain.job_engine_commands import EngineCommands
from domain.job_operator_commands import OperatorCommands
from domain.job_state import SubStepState
from domain.plan import PLAN
from domain.status import JobStatus


class RegistrationJob(EngineCommands, OperatorCommands, Aggregate):
    """One restaurant's Step 6: twelve sub-steps in four phases."""

    TOPIC = ev.JOB_TOPIC

    Created = ev.Created
    Step6Started = ev.Step6Started
    Claimed = ev.Claimed
    PhaseStarted = ev.PhaseStarted
    PhaseCompleted = ev.PhaseCompleted
    PhaseReopened = ev.PhaseReopened
    SubStepStarted = ev.SubStepStarted
    Snapshot = ev.JobSnapshot
    SubStepRetryScheduled = ev.SubStepRetryScheduled
    SubStepRetryRequested = ev.SubStepRetryRequested
    SubStepCompleted = ev.SubStepCompleted
    SubStepFailed = ev.SubStepFailed
    SubStepSkipped = ev.SubStepSkipped
    SubStepInterrupted = ev.SubStepInterrupted
    ManualStatusSet = ev.ManualStatusSet
    SubStepReset = ev.SubStepReset
    EditRefused = ev.EditRefused
    ResumeRequested = ev.ResumeRequested
    JobCompleted = ev.JobCompleted
    JobFailed = ev.JobFailed
    JobCancelled = ev.JobCancelled
    LegacyProgressImported = ev.LegacyProgressImported

    def __init__(
        self,
        batch_id: UUID,
        organisation_id: str,
        restaurant: dict[str, Any],
        execution_config: dict[str, Any],
        actor: str,
        id: UUID | None = None,  # noqa: A002 - the library's name for the aggregate id
    ) -> None:
        self.batch_id = batch_id
        self.organisation_id = organisation_id
        self.restaurant = restaurant
        self.execution_config = execution_config
        self.created_by = actor
        self.status: str = JobStatus.PENDING
        self.sub_steps = {key: SubStepState() for key in PLAN.keys}
        self.step6_started = False
        self.imported_context: dict[str, Any] | None = None
        self.phase_marks: dict[str, str] = {}
        self.edit_requests: dict[str, Any] = {}
        self.worker_id: str | None = None
        self.registration_api: str | None = None
        self.last_error: str | None = None

    @classmethod
    def register(
        cls,
        batch_id: UUID,
        organisation_id: str,
        restaurant: dict[str, Any],
        execution_config: dict[str, Any],
        actor: str,
        job_id: UUID | None = None,
    ) -> RegistrationJob:
        """A new pending job for one restaurant of a batch (under `job_id`, when it has one)."""
        return cls(batch_id, organisation_id, restaurant, execution_config, actor, id=job_id)
