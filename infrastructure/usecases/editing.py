"""Editing use cases: manual edits (single, bulk, dry run), refused edits, the validation query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.editing import EditCheck, SubStepValidation
from domain.exceptions import JobNotFound, RegflowError
from infrastructure.tracing import traced_command
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

    @traced_command("edit")
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
            checks = job.preview_edits([(key, target) for key, target, _ in edits])
            return EditOutcome(checks, job.version, 0, True, job.status)
        try:
            checks, job, saved = self.update_job(
                job_id, organisation_id, lambda j: j.edit(edits, actor, reason), grouped=True
            )
        except RegflowError as exc:
            if not isinstance(exc, JobNotFound):
                exc.recorded_position = self._record_refusal(job_id, edits, actor, reason, exc)
            raise
        return EditOutcome(checks, saved.version, saved.position, False, job.status)

    def _record_refusal(
        self,
        job_id: object,
        edits: list[tuple[str, str, dict[str, Any] | None]],
        actor: str,
        reason: str,
        exc: RegflowError,
    ) -> int:
        """Record who tried what and why it was refused; the log position it reached."""
        edit = {"updates": [{"sub_step": k, "status": s} for k, s, _ in edits], "reason": reason}
        return self.update_job(job_id, None, lambda j: j.refuse_edit(actor, edit, exc.errors))[
            2
        ].position

    def validation(
        self, organisation_id: str | None, job_id: object, key: str
    ) -> SubStepValidation:
        """A sub-step's place in the plan and which edits are allowed now."""
        return self.job(job_id, organisation_id).validation(key)
