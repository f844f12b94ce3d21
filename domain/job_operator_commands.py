"""The commands an operator gives a job: cancel, resume, retry now, edit sub-steps by hand (or
record an edit refused), and import progress from the old system."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.context import result_errors
from domain.editing import EditCheck, EditRequest
from domain.exceptions import (
    ERASED_REQUEST,
    IdempotencyKeyReused,
    IllegalTransition,
    InvalidInput,
    JobIsRunning,
    quoted_key,
)
from domain.job_commands import JobCommandBase
from domain.job_lease import LeaseSeen
from domain.limits import (
    credential_names,
    nesting_error,
    readable,
    reason_errors,
    unstorable_message,
    unstorable_text,
)
from domain.plan import PLAN
from domain.progress_rules import ResumePlan
from domain.secrets import ERASED
from domain.status import (
    JOB_MACHINE,
    SETTLED_WELL,
    SUB_STEP_MACHINE,
    JobStatus,
    SubStepStatus,
    require,
)

_S = SubStepStatus


class OperatorCommands(JobCommandBase):
    """What an operator records on a job; each refuses what the job's state does not allow."""

    def cancel(self, actor: str, reason: str | None) -> None:
        """Stop scheduling sub-steps; calls in flight finish and are recorded."""
        _refuse_bad_reason(reason)
        require(JOB_MACHINE, "cancel", self.status, f"job {self.id}")
        stopped = self.waiting_to_retry()
        self.trigger_event(self.JobCancelled, actor=actor, reason=reason, stopped=stopped)

    def resume(self, actor: str, reason: str | None = None) -> ResumePlan:
        """Run again what is not completed or skipped; failed sub-steps get fresh attempts.

        A completed job records nothing: its plan has nothing to run.
        """
        _refuse_bad_reason(reason)
        plan = self.check_resume()
        if self.status == JobStatus.COMPLETED:
            return plan
        if not self.step6_started:  # cancelled before Step 6 started
            self._start(actor, reason)
            return self.resume_plan()
        self.trigger_event(
            self.ResumeRequested,
            actor=actor,
            reason=reason,
            resuming_from=plan.resuming_from,
            resume_plan=plan.as_answer()["resume_plan"],
            fresh_attempts=plan.fresh_attempts,
            new_generations=plan.new_generations,
        )
        self._keep_switched_off(actor)
        self._follow_rules(actor)
        return plan

    def retry_now(self, key: str, actor: str, reason: str | None = None) -> None:
        """Cut short the wait before the next attempt of `key`."""
        _refuse_bad_reason(reason)
        state = self.sub_steps[PLAN.sub_step(key).key]
        if not self.step6_started:
            raise IllegalTransition(f"Cannot retry {key} now: Step 6 of the job has not started")
        if self.status == JobStatus.COMPLETED:
            raise IllegalTransition(
                f"Cannot retry {key} now: the job is completed (reset {key} to run it again)"
            )
        if self.status != JobStatus.IN_PROGRESS:
            raise IllegalTransition(f"Cannot retry {key} now: job is {self.status}, resume it")
        require(SUB_STEP_MACHINE, "retry_now", state.status, key)
        if state.retry_now_asked:
            raise IllegalTransition(
                f"Cannot retry {key} now: a retry now was already asked; its next attempt is due"
            )
        now = self.Event.create_timestamp()
        if state.retry_asked_by_api and state.retry_at is not None and state.retry_at > now:
            raise IllegalTransition(
                f"Cannot retry {key} now: the registration API asked to wait (Retry-After);"
                f" it is tried at {state.retry_at.isoformat()}"
            )
        self.trigger_event(
            self.SubStepRetryRequested, timestamp=now, sub_step=key, actor=actor, reason=reason
        )

    def edit(
        self,
        edits: list[tuple[str, str, dict[str, Any] | None]],
        actor: str,
        reason: str,
        request: EditRequest | None = None,
        lease: LeaseSeen | None = None,
        item_reasons: Sequence[str | None] = (),
    ) -> list[EditCheck]:
        """Apply manual edits atomically: all are valid and recorded, or none. `request`: the
        idempotency key and keyed digest of the request asking, recorded with the edits.
        `lease`: the job's lease as seen now; calls in flight whose worker no longer holds it
        are recorded interrupted first, in the same save (None: every call counts as live).
        `item_reasons`: an edit's own reason, by position, recorded instead of `reason` (the
        request's) when it is given."""
        if self.status == JobStatus.IN_PROGRESS:
            raise JobIsRunning(self.id)
        if not reason or not readable(reason):
            raise InvalidInput("A reason is required for manual edits")
        _refuse_bad_reason(reason)
        if len(item_reasons) > len(edits):
            raise InvalidInput("More reasons than edits")
        reasons = [r if r and readable(r) else reason for r in item_reasons]
        reasons += [reason] * (len(edits) - len(reasons))
        for own in reasons:
            _refuse_bad_reason(own)
        too_deep = [e for k, _, r in edits if (e := nesting_error(r, f"{k}.result")) is not None]
        if too_deep:
            raise InvalidInput("A result is nested too deeply", too_deep)
        if unstorable := [e for k, _, r in edits for e in unstorable_text(r, f"{k}.result")]:
            raise InvalidInput(unstorable_message(unstorable), unstorable)
        if named := [e for k, _, r in edits for e in credential_names(r, f"{k}.result")]:
            raise InvalidInput("A result names a field with a credential", named)
        if stray := [
            f"{k}.result: only a completed sub-step has a result"
            for k, t, r in edits
            if r and t != _S.COMPLETED
        ]:
            raise InvalidInput("A result is given only with status completed", stray)
        if wrong := [e for k, t, r in edits if t == _S.COMPLETED for e in result_errors(k, r)]:
            raise InvalidInput("A result cannot feed the context", wrong)
        checks = self.preview_edits([(key, target) for key, target, _ in edits], lease)
        self._interrupt(self.orphaned_calls(lease), actor)
        keyed: dict[str, str | None] = {"idempotency_key": None, "request_digest": None}
        if request is not None:
            keyed = {"idempotency_key": request.key, "request_digest": request.digest}
        for check, (_, _, result), own in zip(checks, edits, reasons, strict=True):
            self._record_edit(check, actor, own, result, keyed)
        self._keep_switched_off(actor)
        self._follow_rules(actor)
        return checks

    def earlier_edit(self, request: EditRequest) -> list[EditCheck] | None:
        """What the edits recorded under `request`'s key were told, if the key was used on this
        job (None: it was not); a key used for other content is refused."""
        earlier = self.edit_requests.get(request.key)
        if earlier is None:
            return None
        if earlier["digest"] == ERASED:
            raise IdempotencyKeyReused(ERASED_REQUEST, [quoted_key(request.key)])
        if earlier["digest"] != request.digest:
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used for other edits of this job; nothing was changed",
                [quoted_key(request.key)],
            )
        return [
            EditCheck(sub_step, target, warnings=list(warnings), cascade=list(cascade))
            for sub_step, target, warnings, cascade in earlier["checks"]
        ]

    def _record_edit(
        self,
        check: EditCheck,
        actor: str,
        reason: str,
        result: dict[str, Any] | None,
        keyed: dict[str, str | None],
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
            job_status = self._status_after_edit(_S.PENDING)
            self.trigger_event(
                self.SubStepReset,
                sub_step=key,
                cascade=cascade,
                actor=actor,
                reason=reason,
                job_status=job_status,
                warnings=list(check.warnings),
                **keyed,
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
            job_status=self._status_after_edit(check.target),
            warnings=list(check.warnings),
            **keyed,
        )

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


def _refuse_bad_reason(reason: str | None) -> None:
    if errors := reason_errors(reason):
        raise InvalidInput("The reason cannot be recorded", errors)
