"""Pure folds for batches: the batch row from its events, its summary from its jobs' statuses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.batch import RegistrationBatch
from domain.status import FINAL_JOB_STATUSES, BatchStatus, JobStatus
from projections.folds.jobs import iso, public

COUNTED = tuple(str(s) for s in JobStatus)


def batch_row(event: RegistrationBatch.Created) -> dict[str, Any]:
    """The stored row of a batch, as its Created event describes it, every value as it may
    be shown."""
    created = event.mutate(None)
    assert isinstance(created, RegistrationBatch)
    return batch_row_of(created)


def batch_row_of(batch: RegistrationBatch) -> dict[str, Any]:
    """The stored row of a batch as its events so far leave it (what the batch view holds for
    it at its version), every value as it may be shown."""
    row = {
        "batch_id": str(batch.id),
        "organisation_id": batch.organisation_id,
        "name": batch.name,
        "created_by": batch.created_by,
        "created_at": iso(batch.created_on),
        "total": len(batch.jobs),
        "started": batch.started,
        "version": batch.version,
        "updated_at": iso(batch.modified_on),
    }
    return dict(public(row))


def batch_status(counts: Mapping[str, int], total: int, started: bool = True) -> str:
    """The batch's status, derived from how many of its jobs stand where: pending while none
    has run (every job cancelled before the batch was started included), else in progress
    until every job is final."""
    final = sum(counts.get(s, 0) for s in FINAL_JOB_STATUSES)
    ran = any(counts.get(s, 0) for s in _RUN)
    if not started and not ran:
        return BatchStatus.PENDING
    if total and final == total:
        if counts.get("completed", 0) == total:
            return BatchStatus.COMPLETED
        if counts.get("completed", 0) == 0:
            return BatchStatus.FAILED
        return BatchStatus.PARTIALLY_COMPLETED
    if not ran:
        return BatchStatus.PENDING  # nothing has run: jobs pending, or cancelled before a start
    return BatchStatus.IN_PROGRESS


# A job in one of these statuses has run (or is running): its batch is no longer pending.
_RUN = ("in_progress", "completed", "failed")


def batch_summary(row: Mapping[str, Any], counts: Mapping[str, int]) -> dict[str, Any]:
    """The batch summary: exact counters by job status, percent settled, derived status."""
    total = int(row["total"])
    known = {s: int(counts.get(s, 0)) for s in COUNTED}
    known["pending"] = total - sum(v for s, v in known.items() if s != "pending")
    settled = known["completed"] + known["failed"] + known["cancelled"]
    return {
        "id": row["batch_id"],
        "batch_id": row["batch_id"],
        "organisation_id": row["organisation_id"],
        "name": row["name"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "total": total,
        **known,
        "percent": round(100 * settled / total) if total else 0,
        "status": str(batch_status(known, total, bool(row.get("started", True)))),
    }
