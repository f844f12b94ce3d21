"""Editing use cases: manual edits (single, bulk, dry run), refused edits, the validation query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.editing import EditCheck
from domain.exceptions import JobNotFound, RegflowError
from domain.plan import PLAN
from infrastructure.usecases.store import RegistrationStore


@dataclass(frozen=True)
class EditOutcome:
    """What a manual edit did (or, in a dry run, would do)."""

    checks: list[EditCheck]
    version: int
    position: int
    dry_run: bool
    job_status: str


class EditingCommands(RegistrationStore):
    """The operator's repair tools, each checked by the domain before anything is recorded."""

    def edit(
        self,
        organisation_id: str | None,
        job_id: object,
        edits: list[tuple[str, str, dict[str, Any] | None]],
        actor: str,
        reason: str,
        dry_run: bool = False,
    ) -> EditOutcome:
        """Apply manual edits all-or-nothing; a refused edit is recorded for the audit."""
        if dry_run:
            job = self.job(job_id, organisation_id)
            checks = job.edit(edits, actor, reason or "dry run: no reason needed to preview")
            return EditOutcome(checks, job.version, 0, True, job.status)
        try:
            checks, job, saved = self.update_job(
                job_id, organisation_id, lambda j: j.edit(edits, actor, reason)
            )
        except RegflowError as exc:
            if not isinstance(exc, JobNotFound):
                self._record_refusal(job_id, edits, actor, reason, exc)
            raise
        return EditOutcome(checks, saved.version, saved.position, False, job.status)

    def _record_refusal(
        self,
        job_id: object,
        edits: list[tuple[str, str, dict[str, Any] | None]],
        actor: str,
        reason: str,
        exc: RegflowError,
    ) -> None:
        edit = {"updates": [{"sub_step": k, "status": s} for k, s, _ in edits], "reason": reason}
        self.update_job(job_id, None, lambda j: j.refuse_edit(actor, edit, exc.errors))

    def validation(self, organisation_id: str | None, job_id: object, key: str) -> dict[str, Any]:
        """A sub-step's place in the plan and which edits are allowed now."""
        job = self.job(job_id, organisation_id)
        PLAN.sub_step(key)
        shown = job.shown_statuses()
        checks = {
            target: job.check_edits([(key, target)])[0]
            for target in ("completed", "failed", "skipped", "pending")
        }
        return {
            "sub_step": key,
            "phase": PLAN.phase_of(key),
            "status": shown[key],
            "job_status": job.status,
            "editable": job.status != "in_progress",
            "dependencies": [
                {
                    "sub_step": d,
                    "status": shown[d],
                    "satisfied": shown[d] in ("completed", "skipped"),
                }
                for d in PLAN.dependencies(key)
            ],
            "dependents": [{"sub_step": d, "status": shown[d]} for d in PLAN.cascade_of(key)],
            "transitions": {
                t: {"valid": c.valid, "errors": c.errors, "warnings": c.warnings}
                | ({"cascade": c.cascade} if t == "pending" else {})
                for t, c in checks.items()
            },
        }
