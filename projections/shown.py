"""What a batch read shows, as the views and the log each hold it, asked of those aggregates
only: the views' rows of the batch (or of an organisation's batches) and of their jobs, each
with its version there beside its latest version in the log (an index-only probe each), and
the batches the log holds that the views have no row of. One query, bounded by what the read
shows however far behind the views are; but for an organisation's batches created past the
views' position (see `ShownVersions.of_organisation`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.batch import RegistrationBatch
from projections.log_reads import LogTable
from projections.schema import VIEW_NAMES, Schema

BATCH_CREATED = RegistrationBatch.Created.TOPIC


@dataclass
class ShownBatch:
    """A batch the views hold a row of: whether they are behind on it, how many jobs it has,
    and its jobs they hold rows of, by id (as they write it), each with whether they are behind
    on it (they may lack some: each view stands at a position of its own)."""

    behind: bool
    total: int
    jobs: dict[str, bool] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return len(self.jobs) >= self.total


@dataclass
class Shown:
    """The batches of a read that the views hold, by id (as they write it), and the ids of
    batches (perhaps: of any aggregate) the log holds events of that they hold no row of."""

    batches: dict[str, ShownBatch] = field(default_factory=dict)
    unviewed: list[UUID] = field(default_factory=list)


class ShownVersions:
    """The views' versions beside the log's, of what a batch read shows."""

    def __init__(self, log: LogTable, schema: Schema) -> None:
        self.log = log
        self.schema = schema

    def of_batch(self, batch_id: str) -> Shown:
        """The batch and its jobs, as the views and the log hold them."""
        batches, jobs = self.schema.batches, self.schema.jobs
        rows = self.log.db.fetch(
            f"SELECT 'batch' AS kind, CAST(? AS TEXT) AS id, NULL AS batch_id,"
            f" b.version AS viewed, b.total AS total, {self._logged('?')} AS logged"
            f" FROM (SELECT 1 AS one) one LEFT JOIN {batches} b ON b.batch_id = ?"
            f" UNION ALL SELECT 'job', job_id, batch_id, version, NULL, {self._logged('job_id')}"
            f" FROM {jobs} WHERE batch_id = ?",
            (batch_id, batch_id, batch_id, batch_id),
        )
        return _shown(rows)

    def of_organisation(self, organisation_id: str) -> Shown:
        """The organisation's batches and their jobs, as the views and the log hold them, and
        every batch created past the views' position (of any organisation: its organisation
        is known once it is loaded). Finding those reads each event past the position (in
        the position's order, without grouping them): the one part proportional to the lag."""
        batches, jobs, log = self.schema.batches, self.schema.jobs, self.log
        rows = log.db.fetch(
            f"SELECT 'batch' AS kind, batch_id AS id, batch_id, version AS viewed, total,"
            f" {self._logged('batch_id')} AS logged FROM {batches} WHERE organisation_id = ?"
            f" UNION ALL SELECT 'job', j.job_id, j.batch_id, j.version, NULL,"
            f" {self._logged('j.job_id')} FROM {jobs} j JOIN {batches} b"
            " ON b.batch_id = j.batch_id WHERE b.organisation_id = ?"
            f" UNION ALL SELECT 'created', {self._as_text('originator_id')}, NULL, NULL, NULL,"
            f" NULL FROM {log.table} WHERE {log.position} > {log.views_position(self.schema)}"
            " AND originator_version = 1 AND topic = ?",
            (organisation_id, organisation_id, *VIEW_NAMES, BATCH_CREATED),
        )
        return _shown(rows)

    def _logged(self, aggregate_id: str) -> str:
        """SQL of the latest version in the log of the aggregate whose id, as the views write
        it, `aggregate_id` gives (None when it has no events): an index-only probe."""
        if self.log.db.is_postgres:
            stored = f"CAST({aggregate_id} AS uuid)"
        else:
            stored = f"replace({aggregate_id}, '-', '')"  # the library's SQLite ids are hex
        latest = f"SELECT max(originator_version) FROM {self.log.table}"
        return f"({latest} WHERE originator_id = {stored})"

    def _as_text(self, column: str) -> str:
        """SQL of a log's aggregate id as text (SQLite's are already)."""
        return f"CAST({column} AS TEXT)" if self.log.db.is_postgres else column


def _shown(rows: list[dict[str, Any]]) -> Shown:
    """What the rows of `ShownVersions`' queries say: a batch row with nothing logged (no such
    aggregate) is left out, and one the views have no row of is unviewed."""
    shown = Shown()
    for row in (r for r in rows if r["kind"] != "job"):
        if row["kind"] == "created" or (row["viewed"] is None and row["logged"] is not None):
            shown.unviewed.append(UUID(str(row["id"])))
        elif row["viewed"] is not None:
            shown.batches[row["id"]] = ShownBatch(_behind(row), int(row["total"]))
    for row in (r for r in rows if r["kind"] == "job"):
        if (batch := shown.batches.get(row["batch_id"])) is not None:
            batch.jobs[row["id"]] = _behind(row)
    shown.unviewed = [i for i in dict.fromkeys(shown.unviewed) if str(i) not in shown.batches]
    return shown


def _behind(row: dict[str, Any]) -> bool:
    """Whether the views' version of a row is behind the latest in the log."""
    return int(row["viewed"]) < int(row["logged"] or 0)
