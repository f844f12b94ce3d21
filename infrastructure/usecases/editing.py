"""Editing use cases: manual edits (single, bulk, dry run), refused edits, the validation query."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import Any

from domain.editing import EditCheck, EditRequest, SubStepValidation
from domain.exceptions import JobChanged, JobNotFound, RegflowError
from domain.job import RegistrationJob
from domain.job_lease import LeaseSeen
from domain.limits import MAX_SUB_STEP_NAME, readable, recordable_reason
from domain.preconditions import VersionsRead
from infrastructure.tracing import traced_command
from infrastructure.usecases.idempotency import checked_idempotency_key, keyed_digest
from infrastructure.usecases.store import RegistrationStore

Edit = tuple[str, str, dict[str, Any] | None]
NEEDS_REASON = "a reason is required to make this edit: sent without one, it is refused"


@dataclass(frozen=True)
class EditOutcome:
    """What a manual edit did (or, in a dry run, would do); `replayed`: a repeat of an earlier
    request's idempotency key, answered as that request's edits were, with nothing changed."""

    checks: list[EditCheck]
    version: int
    position: int
    dry_run: bool
    job_status: str
    replayed: bool = False


class EditingCommands(RegistrationStore):
    """The operator's repair tools, each checked by the domain before anything is recorded."""

    @traced_command("edit")
    def edit(
        self,
        organisation_id: str | None,
        job_id: object,
        edits: list[Edit],
        actor: str,
        reason: str,
        dry_run: bool = False,
        idempotency_key: str | None = None,
        item_reasons: Sequence[str | None] = (),
        required: VersionsRead | None = None,
    ) -> EditOutcome:
        """Apply manual edits all-or-nothing; a refused edit is recorded for the audit. Each
        edit is recorded with its own reason in `item_reasons` (by position), else `reason`.

        With an idempotency key (scoped to the job), the edits are made once: a repeat of the
        key and content (a client retrying after a lost answer, or retries at once) is answered
        as the first was, and the key sent with other content is refused. A dry run records
        nothing, so its key is not looked up; a key the edit would refuse for its form is
        refused in the dry run too, as the dry run says what the edit would do.

        With `required` (the versions its sender read), a job that stands at none of them is
        refused, changing and recording nothing; a repeat of a key already used is answered
        as the first request was, whatever the job's version since.
        """
        if idempotency_key is not None:
            idempotency_key = checked_idempotency_key(idempotency_key)
        if dry_run:
            job = self.job(job_id, organisation_id)
            if required is not None:
                required.require(job.version)
            lease = self.lease_seen(job)
            checks = job.preview_edits([(key, target) for key, target, _ in edits], lease)
            if checks and not readable(reason):
                first = checks[0]
                checks = [replace(first, warnings=[*first.warnings, NEEDS_REASON]), *checks[1:]]
            after = status_after(job, edits, reason, lease)
            return EditOutcome(checks, job.version, 0, True, after)
        request = None
        if idempotency_key is not None:
            # an empty result is no result: a repeat sending `{}` for none is the same request
            asked: list[Any] = [[[k, t, r or None] for k, t, r in edits], reason]
            if any(item_reasons):
                asked.append(list(item_reasons))
            digest = keyed_digest(self.request_key, asked)
            request = EditRequest(idempotency_key, digest)

        def refused_edit() -> dict[str, Any]:
            return _refused_edit(edits, reason, item_reasons)

        def command(job: RegistrationJob) -> tuple[list[EditCheck] | RegflowError, bool]:
            try:
                earlier = job.earlier_edit(request) if request is not None else None
                if earlier is not None:
                    return earlier, True
                if required is not None:
                    required.require(job.version)
                lease = self.lease_seen(job)
                return job.edit(edits, actor, reason, request, lease, item_reasons), False
            except JobChanged:  # decided on a state now past: nothing to record
                raise
            except RegflowError as exc:
                if job.pending_events:  # refused part way: not a refusal of this version
                    raise
                # Recorded on the version that refused it, in the same save: if another writer
                # changed the job meanwhile, the edit is checked again against its change.
                job.refuse_edit(actor, refused_edit(), exc.errors)
                return exc, False

        try:
            (told, replayed), job, saved = self.update_job(
                job_id, organisation_id, command, grouped=True
            )
        except RegflowError as exc:
            if not isinstance(exc, (JobNotFound, JobChanged)):  # the job kept changing
                exc.recorded_position = self._record_refusal(job_id, refused_edit(), actor, exc)
            raise
        if isinstance(told, RegflowError):
            told.recorded_position = saved.position
            raise told
        return EditOutcome(told, saved.version, saved.position, False, job.status, replayed)

    def _record_refusal(
        self, job_id: object, edit: dict[str, Any], actor: str, exc: RegflowError
    ) -> int:
        """Record who tried what and why it was refused, for a refusal that holds whatever
        the job's version (it kept changing under the edit); the log position it reached."""
        return self.update_job(job_id, None, lambda j: j.refuse_edit(actor, edit, exc.errors))[
            2
        ].position

    def validation(
        self, organisation_id: str | None, job_id: object, key: str
    ) -> SubStepValidation:
        """A sub-step's place in the plan and which edits are allowed now."""
        job = self.job(job_id, organisation_id)
        return job.validation(key, self.lease_seen(job))

    def lease_seen(self, job: RegistrationJob) -> LeaseSeen | None:
        """The job's lease as the lease table shows it now, when a call of the job is in
        flight: whether the worker that made it still holds the job, or is gone and its calls
        are orphaned. None (and no query) when no call is in flight."""
        if not job.in_flight():
            return None
        job_id = str(job.id)  # as the engine's leases name it
        return self.read(lambda: self.leases.lease_of(job_id), f"read the lease of job {job_id}")


def _refused_edit(
    edits: list[Edit], reason: str, item_reasons: Sequence[str | None]
) -> dict[str, Any]:
    """What an edit refused asked, as its refusal records it."""
    updates: list[dict[str, Any]] = [
        {"sub_step": recordable_reason(k, MAX_SUB_STEP_NAME), "status": s} for k, s, _ in edits
    ]
    for update, own in zip(updates, item_reasons, strict=False):
        if own:
            update["reason"] = recordable_reason(own)
    return {"updates": updates, "reason": recordable_reason(reason)}


def status_after(
    job: RegistrationJob, edits: list[Edit], reason: str, lease: LeaseSeen | None
) -> str:
    """The job's status once `edits` are made (a dry run's answer): they are made on `job`, a
    copy loaded for this answer and never stored; edits that would be refused change nothing."""
    with suppress(RegflowError):
        job.edit(edits, "dry-run", reason if reason.strip() else "dry run", lease=lease)
    return str(job.status)
