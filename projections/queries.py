"""Reads of the views, returned as plain JSON-able dicts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from domain.status import SubStepStatus
from projections.database import Database
from projections.folds.batches import batch_summary
from projections.jsontext import loads
from projections.pages import PagePosition
from projections.schema import Schema

SUB_STEP_STATUSES = tuple(str(s) for s in SubStepStatus)
MEMBERS_PER_QUERY = 500
SUMMARY_COLUMNS = (
    "job_id, batch_id, organisation_id, name, external_id, restaurant, status, current_phase,"
    " counts, last_error, version, created_at, updated_at"
)


def summary_of(row: dict[str, Any]) -> dict[str, Any]:
    return row | {
        "id": row["job_id"],
        "restaurant": loads(row["restaurant"]),
        "counts": loads(row["counts"]),
    }


def progress_of(row: dict[str, Any]) -> dict[str, Any]:
    """A job's summary with its `sub_step_progress`, from its row as the job view stores it."""
    found = dict(row)
    progress = loads(found.pop("progress"))
    return summary_of(found) | {"sub_step_progress": progress}


@dataclass(frozen=True)
class BatchPage:
    """One page of batches, and where it ends when more follow (None at the end)."""

    batches: list[dict[str, Any]]
    last: PagePosition | None


class ViewQueries:
    """Questions the API and the engine ask the read models."""

    def __init__(self, db: Database, schema: Schema) -> None:
        self.db = db
        self.schema = schema

    def job_progress(self, job_id: str) -> dict[str, Any] | None:
        """A job's summary with its `sub_step_progress`, or None."""
        rows = self.db.fetch(
            f"SELECT {SUMMARY_COLUMNS}, progress FROM {self.schema.jobs} WHERE job_id = ?",
            (str(job_id),),
        )
        return progress_of(rows[0]) if rows else None

    def job_summaries(self, batch_id: str) -> list[dict[str, Any]]:
        """Every job of a batch, in the order they were created."""
        rows = self.db.fetch(
            f"SELECT {SUMMARY_COLUMNS} FROM {self.schema.jobs} WHERE batch_id = ?"
            " ORDER BY created_at, job_id",
            (str(batch_id),),
        )
        return [summary_of(r) for r in rows]

    def _counts_and_latest(
        self, batch_ids: Sequence[str]
    ) -> tuple[dict[str, dict[str, int]], dict[str, str]]:
        """Each batch's job counts by status, and when its latest job changed."""
        if not batch_ids:
            return {}, {}
        marks = ", ".join("?" for _ in batch_ids)
        rows = self.db.fetch(
            f"SELECT batch_id, status, COUNT(*) AS n, MAX(updated_at) AS latest"
            f" FROM {self.schema.jobs} WHERE batch_id IN ({marks}) GROUP BY batch_id, status",
            tuple(batch_ids),
        )
        counts: dict[str, dict[str, int]] = {b: {} for b in batch_ids}
        latest: dict[str, str] = {}
        for row in rows:
            counts[row["batch_id"]][row["status"]] = int(row["n"])
            latest[row["batch_id"]] = max(latest.get(row["batch_id"], ""), row["latest"] or "")
        return counts, latest

    def _summaries(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Batch summaries whose `updated_at` moves with their jobs."""
        counts, latest = self._counts_and_latest([r["batch_id"] for r in rows])
        return [
            batch_summary(
                r | {"updated_at": max(r["updated_at"], latest.get(r["batch_id"], ""))},
                counts[r["batch_id"]],
            )
            for r in rows
        ]

    def batch_summary(self, batch_id: str) -> dict[str, Any] | None:
        """A batch with exact counters of its jobs' statuses, or None."""
        rows = self.db.fetch(
            f"SELECT * FROM {self.schema.batches} WHERE batch_id = ?", (str(batch_id),)
        )
        return self._summaries(rows)[0] if rows else None

    def batch_sub_steps(self, batch_id: str) -> dict[str, int]:
        """How many sub-steps of all the batch's jobs stand at each status (zeros included).

        Jobs at the same point share the same counts, so the database groups them and only
        each distinct set of counts is read: a few dozen rows for a batch of 10,000 jobs.
        """
        rows = self.db.fetch(
            f"SELECT counts, COUNT(*) AS n FROM {self.schema.jobs} WHERE batch_id = ?"
            " GROUP BY counts",
            (str(batch_id),),
        )
        totals = dict.fromkeys(SUB_STEP_STATUSES, 0)
        for row in rows:
            counts, jobs = loads(row["counts"]), int(row["n"])
            for status in SUB_STEP_STATUSES:
                totals[status] += int(counts.get(status, 0)) * jobs
        return totals

    def count_in_batch(self, batch_id: str, job_ids: Iterable[str]) -> int:
        """How many of `job_ids` are jobs of the batch."""
        ids = sorted({str(j) for j in job_ids})
        found = 0
        for start in range(0, len(ids), MEMBERS_PER_QUERY):
            chunk = ids[start : start + MEMBERS_PER_QUERY]
            marks = ", ".join("?" for _ in chunk)
            rows = self.db.fetch(
                f"SELECT COUNT(*) AS n FROM {self.schema.jobs}"
                f" WHERE batch_id = ? AND job_id IN ({marks})",
                (str(batch_id), *chunk),
            )
            found += int(rows[0]["n"])
        return found

    def list_batches(
        self, organisation_id: str | None, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Batches, newest first, of one organisation (None: all)."""
        return self.batch_page(organisation_id, limit, offset).batches

    def batch_page(
        self,
        organisation_id: str | None,
        limit: int,
        offset: int = 0,
        after: PagePosition | None = None,
    ) -> BatchPage:
        """Batches, newest first, of one organisation (None: all): those after a position, past
        `offset` of them, and where the page ends when more follow."""
        conditions, params = (
            (["organisation_id = ?"], [organisation_id]) if organisation_id else ([], [])
        )
        if after is not None:
            conditions.append("(created_at < ? OR (created_at = ? AND batch_id > ?))")
            params += [after.created_at, after.created_at, after.id]
        where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
        rows = self.db.fetch(
            f"SELECT * FROM {self.schema.batches} {where}"
            " ORDER BY created_at DESC, batch_id LIMIT ? OFFSET ?",
            (*params, int(limit) + 1, int(offset)),
        )
        more = len(rows) > limit
        rows = rows[:limit]
        end = PagePosition(rows[-1]["created_at"], rows[-1]["batch_id"]) if rows and more else None
        return BatchPage(self._summaries(rows), end)

    def timeline(
        self, job_id: str, after_version: int = 0, limit: int = 100
    ) -> list[dict[str, Any]]:
        """A job's audit entries after `after_version`, oldest first."""
        rows = self.db.fetch(
            "SELECT version, type, at, actor, reason, description, data"
            f" FROM {self.schema.timeline}"
            " WHERE job_id = ? AND version > ? ORDER BY version LIMIT ?",
            (str(job_id), int(after_version), int(limit)),
        )
        return [r | {"data": loads(r["data"])} for r in rows]

    def ids_starting_with(
        self, kind: str, prefix: str, organisation_id: str | None = None, limit: int = 2
    ) -> list[str]:
        """Ids of jobs or batches (`kind`) that start with `prefix` (hex digits and dashes)."""
        table, column = {
            "job": (self.schema.jobs, "job_id"),
            "batch": (self.schema.batches, "batch_id"),
        }[kind]
        if not prefix or any(c not in "0123456789abcdef-" for c in prefix):
            return []
        where, params = f"{column} LIKE ?", [f"{prefix}%"]
        if organisation_id:
            where, params = f"{where} AND organisation_id = ?", [*params, organisation_id]
        rows = self.db.fetch(
            f"SELECT {column} AS id FROM {table} WHERE {where} ORDER BY {column} LIMIT ?",
            (*params, int(limit)),
        )
        return [r["id"] for r in rows]
