"""What every job command records through: the aggregate's event classes, `trigger_event`, and
the rules a change of statuses implies (conditional skips, then the phases' word)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain import job_events as ev
from domain.job_checks import JobChecks
from domain.plan import PLAN
from domain.progress_rules import conditional_reopens, conditional_skips, phase_changes
from domain.status import JOB_MACHINE, SUB_STEP_MACHINE, JobStatus, SubStepStatus, require

if TYPE_CHECKING:
    from eventsourcing.domain import Aggregate


class JobCommandBase(JobChecks):
    """The part of the aggregate its commands share; `RegistrationJob` supplies the rest."""

    phase_marks: dict[str, str]
    last_error: str | None

    if TYPE_CHECKING:
        # The aggregate binds these: its event classes (redefined by the library on the
        # aggregate) and the library's `trigger_event`.
        Event: type[Aggregate.Event]
        Step6Started: type[ev.Step6Started]
        Claimed: type[ev.Claimed]
        PhaseStarted: type[ev.PhaseStarted]
        PhaseCompleted: type[ev.PhaseCompleted]
        PhaseReopened: type[ev.PhaseReopened]
        SubStepStarted: type[ev.SubStepStarted]
        SubStepRetryScheduled: type[ev.SubStepRetryScheduled]
        SubStepRetryRequested: type[ev.SubStepRetryRequested]
        SubStepCompleted: type[ev.SubStepCompleted]
        SubStepFailed: type[ev.SubStepFailed]
        SubStepSkipped: type[ev.SubStepSkipped]
        SubStepReopened: type[ev.SubStepReopened]
        SubStepInterrupted: type[ev.SubStepInterrupted]
        ManualStatusSet: type[ev.ManualStatusSet]
        SubStepReset: type[ev.SubStepReset]
        EditRefused: type[ev.EditRefused]
        ResumeRequested: type[ev.ResumeRequested]
        JobCompleted: type[ev.JobCompleted]
        JobFailed: type[ev.JobFailed]
        JobCancelled: type[ev.JobCancelled]
        LegacyProgressImported: type[ev.LegacyProgressImported]

        def trigger_event(self, event_class: type[Any], **kwargs: Any) -> None: ...

    def _interrupt(self, keys: list[str], actor: str) -> None:
        """Record the calls of `keys` in flight as interrupted: their outcome is unknown, and
        the next attempt keeps the idempotency key. An outcome of those calls that comes later
        is refused (the sub-step is no longer in progress) and changes nothing."""
        for key in keys:
            state = self.sub_steps[key]
            require(SUB_STEP_MACHINE, "interrupt", state.status, key)
            self.trigger_event(
                self.SubStepInterrupted,
                sub_step=key,
                attempt=state.attempts,
                idempotency_key=self.idempotency_key(key),
                actor=actor,
            )

    def _start(self, actor: str, reason: str | None = None) -> None:
        """Record Step 6 started, skipping what the execution_config switches off."""
        require(JOB_MACHINE, "start", self.status, f"job {self.id}")
        self.trigger_event(self.Step6Started, actor=actor, reason=reason)
        self._keep_switched_off(actor)
        self._follow_rules(actor)

    def _keep_switched_off(self, actor: str) -> None:
        """Skip, with the config's reason, every pending sub-step the execution_config switches
        off: at the start, and after an operator's command that made one pending (a resume
        gives a failed sub-step fresh attempts, whatever marked it failed)."""
        if not self.step6_started:
            return
        statuses = self.statuses()
        for key, reason in self.switched_off().items():
            if statuses[key] == SubStepStatus.PENDING:
                self.trigger_event(
                    self.SubStepSkipped, sub_step=key, reason=reason, actor=actor, by_rule=False
                )

    def _follow_rules(self, actor: str) -> None:
        """Record what a change of statuses implies: the menu rule's skips whose reason is gone
        taken back, its new skips, then the phases' word."""
        by_rule = [s.key for s in PLAN.conditional if self.sub_steps[s.key].skipped_by_rule]
        if by_rule:
            reopens = conditional_reopens(self.statuses(), by_rule, lambda: self.context)
            for key, reason in reopens.items():
                status = self.status
                if status == JobStatus.COMPLETED:
                    status = require(JOB_MACHINE, "reopen", status, f"job {self.id}")
                self.trigger_event(
                    self.SubStepReopened,
                    sub_step=key,
                    reason=reason,
                    actor=actor,
                    job_status=status,
                )
        for key, reason in conditional_skips(self.statuses(), lambda: self.context).items():
            self.trigger_event(
                self.SubStepSkipped, sub_step=key, reason=reason, actor=actor, by_rule=True
            )
        marks = self.phase_marks
        for phase, status, settled in phase_changes(self.phase_statuses(), marks):
            if settled:
                self.trigger_event(self.PhaseCompleted, phase=phase, status=status, actor=actor)
            else:
                previous = marks[phase]
                self.trigger_event(
                    self.PhaseReopened,
                    phase=phase,
                    status=status,
                    previous_status=previous,
                    actor=actor,
                )
