"""The commands the engine gives a job as it runs it: start, claim, each attempt's outcome, and
the close of a run."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain.exceptions import IllegalTransition, JobIsRunning
from domain.job_commands import JobCommandBase
from domain.plan import PLAN
from domain.progress_rules import STARTED
from domain.status import JOB_MACHINE, SUB_STEP_MACHINE, JobStatus, SubStepStatus, require

_S = SubStepStatus
ENGINE = "engine"


class EngineCommands(JobCommandBase):
    """What the engine records as it runs a job's sub-steps."""

    def start_step6(self, actor: str) -> None:
        """Start Step 6, skipping what the execution_config switches off."""
        if self.step6_started:
            raise IllegalTransition(f"Step 6 of job {self.id} already started: resume it instead")
        self._start(actor)

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
        self._interrupt(interrupted, ENGINE)
        return interrupted

    def interrupt_abandoned_calls(self) -> list[str]:
        """Record the calls in flight of a job that is not running as interrupted, for a worker
        that took the job's lease after the worker that made them lost it (a cancel leaves
        calls in flight to finish): that worker records nothing more. A running job's are
        interrupted by the claim of the worker that takes it over."""
        if self.status == JobStatus.IN_PROGRESS:
            raise JobIsRunning(self.id)
        interrupted = self.in_flight()
        self._interrupt(interrupted, ENGINE)
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
        if self.phase_marks.get(phase) != STARTED:
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
