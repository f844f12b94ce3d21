"""What a job's operator commands would do, asked without recording anything: a resume, edits,
and which edits of a sub-step are allowed now."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from domain.context import fold_context
from domain.editing import (
    EDIT_TARGETS,
    EditCheck,
    SubStepValidation,
    check_bulk,
    display_statuses,
    statuses_after,
)
from domain.exceptions import (
    DependencyNotSatisfied,
    EditRejected,
    JobIsRunning,
    NothingToResume,
    SubStepInFlight,
    UnknownSubStepsEdited,
)
from domain.execution_config import ExecutionConfig
from domain.job_lease import LeaseSeen
from domain.job_state import JobQueries
from domain.plan import PLAN
from domain.progress_rules import (
    ResumePlan,
    conditional_reopens,
    conditional_skips,
    plan_resume,
    reopen_warning,
    reskip_warning,
)
from domain.secret_words import scrub_text
from domain.status import JOB_MACHINE, SETTLED_WELL, JobStatus, SubStepStatus, require

_S = SubStepStatus


class JobChecks(JobQueries):
    """The checks a job's commands make before they record anything; they change nothing."""

    execution_config: dict[str, Any]
    worker_id: str | None

    def orphaned_calls(self, lease: LeaseSeen | None) -> list[str]:
        """The sub-steps in flight whose call nobody will answer, in a job that is not running:
        the worker that started them (the job's last claim) no longer held the job's lease
        when `lease` was seen, so it records nothing more. None: the lease was not looked at;
        every call counts as live. (A running job's are interrupted by the claim of the worker
        that takes it over.)"""
        running = self.status == JobStatus.IN_PROGRESS
        if running or lease is None or lease.live_for(self.worker_id):
            return []
        return self.in_flight()

    def statuses_for_edits(self, lease: LeaseSeen | None = None) -> dict[str, str]:
        """Each sub-step's stored status as an edit finds it: an orphaned call's sub-step is
        recorded interrupted (waiting to retry) before the edit."""
        statuses = self.statuses()
        for key in self.orphaned_calls(lease):
            statuses[key] = _S.RETRYING
        return statuses

    def check_resume(self) -> ResumePlan:
        """What a resume would do, or why it is refused."""
        if not self.step6_started:
            if self.status != JobStatus.CANCELLED:
                raise NothingToResume()
            return self.resume_plan()  # cancelled before it started: the resume starts it
        if self.status == JobStatus.IN_PROGRESS:
            raise JobIsRunning(self.id)
        if self.status != JobStatus.COMPLETED:
            require(JOB_MACHINE, "resume", self.status, f"job {self.id}")
        return self.resume_plan()

    def check_edits(
        self, edits: list[tuple[str, str]], lease: LeaseSeen | None = None
    ) -> list[EditCheck]:
        """What each edit would do, checked in order, without recording anything (`lease`:
        the job's lease as seen now, which tells orphaned calls from live ones)."""
        unknown = [
            f"updates[{i}]: unknown sub-step {scrub_text(key)}"
            for i, (key, _) in enumerate(edits)
            if key not in PLAN.keys
        ]
        if unknown:
            message = f"{len(unknown)} of the edits name unknown sub-steps"
            raise UnknownSubStepsEdited(message, unknown)
        stored = self.statuses_for_edits(lease)
        checks = check_bulk(stored, edits, self.switched_off())
        if self.status == JobStatus.IN_PROGRESS or not all(c.valid for c in checks):
            return checks  # refused: nothing to say of what they would leave
        statuses = statuses_after(stored, checks)
        reopens, skips = self._rule_decisions(statuses, checks)
        statuses |= dict.fromkeys(reopens, _S.PENDING) | dict.fromkeys(skips, _S.SKIPPED)
        reset = {k for c in checks if c.target == _S.PENDING for k in c.cascade}
        said = [reopen_warning(reopens)] if reopens else []
        if undone := {k: why for k, why in skips.items() if k in reset}:
            said.append(reskip_warning(undone))
        if said:
            checks[-1] = replace(checks[-1], warnings=[*checks[-1].warnings, *said])
        after = self._status_after_edits(checks)
        settled = all(s in SETTLED_WELL for s in statuses.values())
        if settled and after != JobStatus.COMPLETED:
            hint = f"every sub-step is settled: the job stays {after} until it is resumed"
            checks[-1] = replace(checks[-1], warnings=[*checks[-1].warnings, hint])
        return checks

    def _rule_decisions(
        self, statuses: dict[str, str], checks: list[EditCheck]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """What the menu rule records once the edits are made (`statuses`: as the edits leave
        them), each with why, as `edit` records it: its skips taken back, then its new skips.
        A skip an edit sets or resets is the operator's from then on. A sub-step marked
        completed counts as completed here; a result given with it feeds no rule's flag."""
        touched = {k for c in checks for k in (c.sub_step, *c.cascade)}
        by_rule = [
            s.key
            for s in PLAN.conditional
            if self.sub_steps[s.key].skipped_by_rule and s.key not in touched
        ]
        marked = {c.sub_step for c in checks if c.target == _S.COMPLETED}
        results = {k: s.result for k, s in self.sub_steps.items()}
        here = self.completed_here | marked

        def context_of(now: dict[str, str]) -> Callable[[], dict[str, Any]]:
            return lambda: fold_context(now, results, self.imported_context, here)

        reopens = conditional_reopens(statuses, by_rule, context_of(statuses)) if by_rule else {}
        reopened = statuses | dict.fromkeys(reopens, _S.PENDING)
        return reopens, conditional_skips(reopened, context_of(reopened))

    def _status_after_edits(self, checks: list[EditCheck]) -> str:
        """The job's status once the edits are recorded (see `_status_after_edit`)."""
        status = self.status
        for check in checks:
            status = self._status_after_edit(check.target, status)
        return status

    def resume_plan(self) -> ResumePlan:
        """What a resume would do now: where it resumes, what runs, which keys change."""
        failures = {k: (s.transient, s.generation) for k, s in self.sub_steps.items()}
        stopped_retrying = [
            k for k, s in self.sub_steps.items() if s.status == _S.PENDING and s.run_attempts
        ]
        return plan_resume(
            self.statuses(),
            self.phase_statuses(),
            failures,
            self.context,
            self.switched_off(),
            stopped_retrying,
        )

    def switched_off(self) -> dict[str, str]:
        """The sub-steps the job's execution_config switches off, each with the reason."""
        return ExecutionConfig.model_validate(self.execution_config).disabled_sub_steps()

    def validation(self, key: str, lease: LeaseSeen | None = None) -> SubStepValidation:
        """Where `key` stands and which edits of it are allowed now, as an edit would find it
        (`lease`: the job's lease as seen now; an orphaned call is interrupted first)."""
        PLAN.sub_step(key)
        shown = display_statuses(self.statuses_for_edits(lease))
        checks: dict[str, EditCheck] = {
            t: self.check_edits([(key, t)], lease)[0] for t in EDIT_TARGETS
        }
        running = self.status == JobStatus.IN_PROGRESS
        if running:  # every edit is refused while the job runs, as an edit would be told
            for check in checks.values():
                check.errors.insert(0, str(JobIsRunning(self.id)))
        return SubStepValidation(
            sub_step=key,
            phase=PLAN.phase_of(key),
            status=shown[key],
            job_status=self.status,
            # no edit of a sub-step whose call is in flight is allowed until its answer lands
            editable=not running and shown[key] != _S.IN_PROGRESS,
            dependencies={d: shown[d] for d in PLAN.dependencies(key)},
            dependents={d: shown[d] for d in PLAN.cascade_of(key)},
            checks=checks,
        )

    def preview_edits(
        self, edits: list[tuple[str, str]], lease: LeaseSeen | None = None
    ) -> list[EditCheck]:
        """What the edits would do, refused as `edit` would refuse them; records nothing."""
        if self.status == JobStatus.IN_PROGRESS:
            raise JobIsRunning(self.id)
        checks = self.check_edits(edits, lease)
        self._refuse_invalid(checks)
        return checks

    def _refuse_invalid(self, checks: list[EditCheck]) -> None:
        single = len(checks) == 1
        errors = [
            e if single else f"updates[{i}]: {e}" for i, c in enumerate(checks) for e in c.errors
        ]
        if not errors:
            return
        waiting = [i for i, c in enumerate(checks) if c.in_flight]
        if waiting:  # a conflict with the job's state, said first: the edits may be fine
            first = checks[waiting[0]].errors[0]
            raise SubStepInFlight(first if single else f"updates[{waiting[0]}]: {first}", errors)
        refused = sum(1 for c in checks if c.errors)
        verb = "is" if refused == 1 else "are"
        message = errors[0] if single else f"{refused} of the {len(checks)} edits {verb} invalid"
        dependency = all(c.target == _S.COMPLETED for c in checks if c.errors)
        raise (DependencyNotSatisfied if dependency else EditRejected)(message, errors)

    def _status_after_edit(self, target: str, status: str | None = None) -> str:
        """The job's status (`status`, else the one it has) after an edit to `target`: a reset
        reopens a completed job, a sub-step marked failed fails it, and any other edit leaves
        its status as it is (a job all of whose sub-steps are settled by hand is completed by
        a resume, as the job's machine has it)."""
        status = self.status if status is None else status
        trigger = "edit"
        if status == JobStatus.COMPLETED and target in (_S.PENDING, _S.FAILED):
            trigger = "reopen" if target == _S.PENDING else "mark_failed"
        return require(JOB_MACHINE, trigger, status, f"job {self.id}")
