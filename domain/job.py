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
from domain.quoted_values import Quotable, quotable, quoting_public, quoting_within
from domain.status import JobStatus

FREE_TEXT = ("reason", "error", "errors", "edit")
"""The fields of a job's events that hold text people write, or text made of it (an error
saying a sub-step was marked failed, with the reason): where the job's own personal data
quoted in them is marked, for the store to seal (`domain.quoted_values`)."""
BY_HAND = ("result",)
"""Fields written by the operator too when their event carries a reason (a manual edit's
result); an engine's event carries none, and its results are the registration API's."""


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
    SubStepReopened = ev.SubStepReopened
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

    def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None:
        """The library's, with the job's personal data quoted in free text marked (and its
        secrets quoted there masked): every event with a reason records it so."""
        texts = [name for name in FREE_TEXT if kwargs.get(name)]
        if "reason" in kwargs:
            texts += [name for name in BY_HAND if kwargs.get(name)]
        if texts:
            values = self.quotable_values()
            for name in texts:
                kwargs[name] = quoting_within(kwargs[name], values)
        super().trigger_event(event_class, **kwargs)

    def quotable_values(self) -> Quotable:
        """The personal and secret values of the job that its free text may quote."""
        return quotable({"restaurant": self.restaurant, "execution_config": self.execution_config})

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
        """A new pending job for one restaurant of a batch (under `job_id`, when it has one);
        the job's personal data its restaurant's name or its config's other texts quote is
        marked, for the store to seal."""
        document = {"restaurant": restaurant, "execution_config": execution_config}
        values = quotable(document)
        if values.personal:
            document = quoting_public(document, values)
        return cls(
            batch_id,
            organisation_id,
            document["restaurant"],
            document["execution_config"],
            actor,
            id=job_id,
        )
