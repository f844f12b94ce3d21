"""The registration job aggregate: every Step 6 change of one restaurant is an event."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain import job_events as ev
from domain.editing import EDIT_TARGETS, EditCheck, SubStepValidation, check_bulk
from domain.exceptions import (
    DependencyNotSatisfied,
    EditRejected,
    IllegalTransition,
    InvalidInput,
    JobIsRunning,
    NothingToResume,
)
from domain.execution_config import ExecutionConfig
from domain.job_state import JobQueries, SubStepState
from domain.limits import nesting_error
from domain.plan import PLAN
from domain.progress_rules import ResumePlan, conditional_skips, phase_changes
from domain.status import (
    JOB_MACHINE,
    SETTLED_WELL,
    SUB_STEP_MACHINE,
    JobStatus,
    SubStepStatus,
    require,
)

_S = SubStepStatus
ENGINE = "engine"


class RegistrationJob(JobQueries, Aggregate):
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
        return cls._create(
            cls.Created,
            id=job_id,
            batch_id=batch_id,
            organisation_id=organisation_id,
            restaurant=restaurant,
            execution_config=execution_config,
            actor=actor,
        )

    # engine commands

    def start_step6(self, actor: str) -> None:
        """Start Step 6, skipping what the execution_config switches off."""
        if self.step6_started:
            raise IllegalTransition(f"Step 6 of job {self.id} already started: resume it instead")
        require(JOB_MACHINE, "start", self.status, f"job {self.id}")
        self.trigger_event(self.Step6Started, actor=actor)
        disabled = ExecutionConfig.model_validate(self.execution_config).disabled_sub_steps()
        for key, reason in disabled.items():
            self.trigger_event(self.SubStepSkipped, sub_step=key, reason=reason, actor=actor)
        self._follow_rules(actor)

    def claim(self, worker_id: str, registration_api: str | None = None) -> list[str]:
        """Take the job on, saying which registration API this worker calls; sub-steps left
        in flight by a previous worker are interrupted."""
        require(JOB_MACHINE, "claim", self.status, f"job {self.id}")
        interrupted = self.in_flight()
        self.trigger_event(
            self.Claimed,
            worker_id=worker_id,
            previous_worker=self.worker_id,
            registration_api=registration_api,
        )
        for key in interrupted:
            state = self.sub_steps[key]
            self.trigger_event(
                self.SubStepInterrupted,
                sub_step=key,
                attempt=state.attempts,
                idempotency_key=self.idempotency_key(key),
            )
        return interrupted

    def start_sub_step(
        self, key: str, trace_id: str | None = None, span_id: str | None = None
    ) -> str:
        """Record an attempt of `key` as started, in the trace given; returns its key."""
        state = self.sub_steps[PLAN.sub_step(key).key]
        require(SUB_STEP_MACHINE, "start", state.status, key)
        if key not in self.runnable():
            raise IllegalTransition(f"Cannot start {key}: its dependencies or phase are not ready")
        phase = PLAN.phase_of(key)
        if self.phase_marks.get(phase) != "started":
            self.trigger_event(self.PhaseStarted, phase=phase)
        self.trigger_event(
            self.SubStepStarted,
            sub_step=key,
            attempt=state.attempts + 1,
            run_attempt=state.run_attempts + 1,
            generation=state.generation,
            idempotency_key=self.idempotency_key(key),
            trace_id=trace_id,
            span_id=span_id,
        )
        return self.idempotency_key(key)

    def schedule_retry(
        self, key: str, error: str, delay: float, retry_after: bool = False, counted: bool = True
    ) -> None:
        """Record a transient failure of the current attempt and when to try again."""
        state = self.sub_steps[PLAN.sub_step(key).key]
        require(SUB_STEP_MACHINE, "schedule_retry", state.status, key)
        at = self.Event.create_timestamp()
        self.trigger_event(
            self.SubStepRetryScheduled,
            timestamp=at,
            sub_step=key,
            attempt=state.attempts,
            error=error,
            delay=delay,
            retry_at=at + timedelta(seconds=delay),
            honoured_retry_after=retry_after,
            counted=counted,
        )

    def retry_now(self, key: str, actor: str) -> None:
        """Cut short the wait before the next attempt of `key`."""
        state = self.sub_steps[PLAN.sub_step(key).key]
        if self.status != JobStatus.IN_PROGRESS:
            raise IllegalTransition(f"Cannot retry {key} now: job is {self.status}, resume it")
        require(SUB_STEP_MACHINE, "retry_now", state.status, key)
        self.trigger_event(self.SubStepRetryRequested, sub_step=key, actor=actor)

    def complete_sub_step(self, key: str, result: dict[str, Any]) -> None:
        """Record the current attempt of `key` as successful, with its result."""
        state = self.sub_steps[PLAN.sub_step(key).key]
        require(SUB_STEP_MACHINE, "complete", state.status, key)
        self.trigger_event(
            self.SubStepCompleted, sub_step=key, attempt=state.attempts, result=dict(result)
        )
        self._follow_rules(ENGINE)

    def fail_sub_step(self, key: str, error: str, transient: bool) -> None:
        """Record `key` as failed for good in this run."""
        state = self.sub_steps[PLAN.sub_step(key).key]
        require(SUB_STEP_MACHINE, "fail", state.status, key)
        self.trigger_event(
            self.SubStepFailed,
            sub_step=key,
            attempt=state.attempts,
            error=error,
            transient=transient,
            attempts=state.run_attempts,
        )
        self._follow_rules(ENGINE)

    def _follow_rules(self, actor: str) -> None:
        """Record what a change of statuses implies: conditional skips, then the phases' word."""
        for key, reason in conditional_skips(self.statuses(), self.context).items():
            self.trigger_event(self.SubStepSkipped, sub_step=key, reason=reason, actor=actor)
        marks = self.phase_marks
        for phase, status, settled in phase_changes(self.phase_statuses(), marks):
            if settled:
                self.trigger_event(self.PhaseCompleted, phase=phase, status=status)
            else:
                previous = marks[phase]
                self.trigger_event(
                    self.PhaseReopened, phase=phase, status=status, previous_status=previous
                )

    def finish(self) -> str:
        """Close a run whose sub-steps are all settled: completed, or failed with reasons."""
        require(JOB_MACHINE, "complete", self.status, f"job {self.id}")
        if self.in_flight() or self.waiting_to_retry() or not self.all_settled():
            raise IllegalTransition(f"Cannot finish job {self.id}: sub-steps are still to run")
        shown = self.shown_statuses()
        failed = [k for k, s in shown.items() if s == _S.FAILED]
        if not failed:
            self.trigger_event(self.JobCompleted)
            return JobStatus.COMPLETED
        blocked = [k for k, s in shown.items() if s == _S.BLOCKED]
        error = f"{failed[0]}: {self.sub_steps[failed[0]].error or 'failed'}"
        self.trigger_event(self.JobFailed, failed=failed, blocked=blocked, error=error)
        return JobStatus.FAILED

    # operator commands

    def cancel(self, actor: str, reason: str | None) -> None:
        """Stop scheduling sub-steps; calls in flight finish and are recorded."""
        require(JOB_MACHINE, "cancel", self.status, f"job {self.id}")
        stopped = self.waiting_to_retry()
        self.trigger_event(self.JobCancelled, actor=actor, reason=reason, stopped=stopped)

    def resume(self, actor: str, reason: str | None = None) -> ResumePlan:
        """Run again what is not completed or skipped; failed sub-steps get fresh attempts.

        A completed job records nothing: its plan has nothing to run.
        """
        plan = self.check_resume()
        if self.status == JobStatus.COMPLETED:
            return plan
        self.trigger_event(
            self.ResumeRequested,
            actor=actor,
            reason=reason,
            resuming_from=plan.resuming_from,
            resume_plan=plan.as_answer()["resume_plan"],
            fresh_attempts=plan.fresh_attempts,
            new_generations=plan.new_generations,
        )
        self._follow_rules(actor)
        return plan

    def check_resume(self) -> ResumePlan:
        """What a resume would do, or why it is refused."""
        if not self.step6_started:
            raise NothingToResume()
        if self.status == JobStatus.IN_PROGRESS:
            raise JobIsRunning(self.id)
        if self.status != JobStatus.COMPLETED:
            require(JOB_MACHINE, "resume", self.status, f"job {self.id}")
        return self.resume_plan()

    def check_edits(self, edits: list[tuple[str, str]]) -> list[EditCheck]:
        """What each edit would do, checked in order, without recording anything."""
        unknown = [
            f"updates[{i}]: unknown sub-step {key}"
            for i, (key, _) in enumerate(edits)
            if key not in PLAN.keys
        ]
        if unknown:
            raise EditRejected(f"{len(unknown)} of the edits name unknown sub-steps", unknown)
        return check_bulk(self.statuses(), edits)

    def validation(self, key: str) -> SubStepValidation:
        """Where `key` stands and which edits of it are allowed now."""
        PLAN.sub_step(key)
        shown = self.shown_statuses()
        return SubStepValidation(
            sub_step=key,
            phase=PLAN.phase_of(key),
            status=shown[key],
            job_status=self.status,
            editable=self.status != JobStatus.IN_PROGRESS,
            dependencies={d: shown[d] for d in PLAN.dependencies(key)},
            dependents={d: shown[d] for d in PLAN.cascade_of(key)},
            checks={t: self.check_edits([(key, t)])[0] for t in EDIT_TARGETS},
        )

    def preview_edits(self, edits: list[tuple[str, str]]) -> list[EditCheck]:
        """What the edits would do, refused as `edit` would refuse them; records nothing."""
        if self.status == JobStatus.IN_PROGRESS:
            raise JobIsRunning(self.id)
        checks = self.check_edits(edits)
        self._refuse_invalid(checks)
        return checks

    def edit(
        self, edits: list[tuple[str, str, dict[str, Any] | None]], actor: str, reason: str
    ) -> list[EditCheck]:
        """Apply manual edits atomically: all are valid and recorded, or none."""
        if self.status == JobStatus.IN_PROGRESS:
            raise JobIsRunning(self.id)
        if not reason or not reason.strip():
            raise InvalidInput("A reason is required for manual edits")
        too_deep = [e for k, _, r in edits if (e := nesting_error(r, f"{k}.result")) is not None]
        if too_deep:
            raise InvalidInput("A result is nested too deeply", too_deep)
        checks = self.preview_edits([(key, target) for key, target, _ in edits])
        for check, (_, _, result) in zip(checks, edits, strict=True):
            self._record_edit(check, actor, reason, result)
        self._follow_rules(actor)
        return checks

    def _refuse_invalid(self, checks: list[EditCheck]) -> None:
        errors = [e for c in checks for e in c.errors]
        if not errors:
            return
        single = len(checks) == 1
        dependency = all(c.target == _S.COMPLETED for c in checks if c.errors)
        message = errors[0] if single else f"{len(errors)} of the edits are invalid"
        raise (DependencyNotSatisfied if dependency else EditRejected)(message, errors)

    def _record_edit(
        self, check: EditCheck, actor: str, reason: str, result: dict[str, Any] | None
    ) -> None:
        key = check.sub_step
        if check.target == _S.PENDING:
            cascade = [
                {
                    "sub_step": k,
                    "previous_status": str(self.sub_steps[k].status),
                    "generation": self.sub_steps[k].generation + 1,
                }
                for k in check.cascade
            ]
            job_status = self._status_after_edit(reopens=True)
            self.trigger_event(
                self.SubStepReset,
                sub_step=key,
                cascade=cascade,
                actor=actor,
                reason=reason,
                job_status=job_status,
            )
            return
        self.trigger_event(
            self.ManualStatusSet,
            sub_step=key,
            previous_status=str(self.sub_steps[key].status),
            status=str(check.target),
            actor=actor,
            reason=reason,
            result=dict(result or {}),
            job_status=self._status_after_edit(reopens=check.target == _S.FAILED),
        )

    def _status_after_edit(self, reopens: bool) -> str:
        if reopens and self.status == JobStatus.COMPLETED:
            return require(JOB_MACHINE, "reopen", self.status, f"job {self.id}")
        return require(JOB_MACHINE, "edit", self.status, f"job {self.id}")

    def refuse_edit(self, actor: str, edit: dict[str, Any], errors: list[str]) -> None:
        """Record an edit that was refused, for the audit trail; state is unchanged."""
        self.trigger_event(self.EditRefused, actor=actor, edit=edit, errors=errors)

    def import_legacy(
        self, statuses: dict[str, dict[str, Any]], context: dict[str, Any] | None, actor: str
    ) -> None:
        """Take over progress recorded by the old system, so the job can be resumed."""
        require(JOB_MACHINE, "import_legacy", self.status, f"job {self.id}")
        if self.step6_started:
            raise IllegalTransition(f"Job {self.id} already has Step 6 progress")
        for key in statuses:
            PLAN.sub_step(key)
        well = all(statuses.get(k, {}).get("status") in SETTLED_WELL for k in PLAN.keys)
        self.trigger_event(
            self.LegacyProgressImported,
            actor=actor,
            sub_steps=statuses,
            context=context,
            job_status=JobStatus.COMPLETED if well else JobStatus.FAILED,
        )
