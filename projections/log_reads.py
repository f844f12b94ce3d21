"""The event log's own table, read on the views' connections: each aggregate's latest version,
and which aggregates the log holds events of that the views have not applied yet.

Both are indexed reads (the log's key is the aggregate and version, its position is indexed),
and they find nothing to do in one round trip when the views are up to date. The second reads
a bounded number of events past the views' position (the position's index in order, never a
scan of the whole log as a GROUP BY of every event past it did on SQLite).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg

from infrastructure.keys.table import events_table
from infrastructure.settings import Settings
from infrastructure.sql_params import param_style
from projections.database import CONNECTION_NAME, Database
from projections.queries import SUMMARY_COLUMNS
from projections.schema import VIEW_NAMES, Schema

IDS_PER_QUERY = 500
# One statement for any number of ids (an index-only probe each), prepared once a connection.
LATEST_OF_EACH = (
    "SELECT i AS id, (SELECT max(originator_version) FROM {table} WHERE originator_id = i)"
    " AS version FROM unnest(?::uuid[]) AS i"
)


@dataclass(frozen=True)
class Changed:
    """An aggregate with events the views have not applied: its latest version in the log,
    and the topic of its first event when that is one of them (a new aggregate)."""

    version: int
    created: str | None


class LogTable:
    """Reads of the event store's table, in the views' dialect."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.table = events_table(db.is_postgres)
        # The log position: PostgreSQL's notification id, SQLite's row id (as the library has).
        self.position = "notification_id" if db.is_postgres else "rowid"

    def stored_id(self, aggregate_id: UUID) -> Any:
        """An aggregate id as the log's rows hold it (the library's choice per store)."""
        return aggregate_id if self.db.is_postgres else aggregate_id.hex

    def latest_versions(self, aggregate_ids: Iterable[UUID]) -> dict[UUID, int]:
        """Each aggregate's latest version in the log (those with no events are left out)."""
        ids = list(dict.fromkeys(aggregate_ids))
        found: dict[UUID, int] = {}
        for start in range(0, len(ids), IDS_PER_QUERY):
            chunk = ids[start : start + IDS_PER_QUERY]
            if self.db.is_postgres:
                rows = self.db.fetch(LATEST_OF_EACH.format(table=self.table), (chunk,))
            else:
                marks = ", ".join("?" for _ in chunk)
                rows = self.db.fetch(
                    f"SELECT originator_id AS id, max(originator_version) AS version"
                    f" FROM {self.table} WHERE originator_id IN ({marks}) GROUP BY originator_id",
                    [i.hex for i in chunk],
                )
            found.update((_uuid(r["id"]), int(r["version"])) for r in rows if r["version"])
        return found

    def job_row_and_version(self, schema: Schema, job_id: UUID) -> dict[str, Any] | None:
        """The job view's row of a job (None in it when the views have none) beside the job's
        latest version in the log (under `logged`; None when it has no events), one query."""
        rows = self.db.fetch(
            f"SELECT logged, {SUMMARY_COLUMNS}, progress FROM (SELECT max(originator_version)"
            f" AS logged FROM {self.table} WHERE originator_id = ?) latest"
            f" LEFT JOIN {schema.jobs} ON job_id = ?",
            (self.stored_id(job_id), str(job_id)),
        )
        return rows[0] if rows else None

    def views_position(self, schema: Schema) -> str:
        """SQL of the position the views stand at (the least of theirs), its parameters
        `VIEW_NAMES`: the log's rows past it are what some view has not applied."""
        marks = ", ".join("?" for _ in VIEW_NAMES)
        return f"(SELECT min(notification_id) FROM {schema.tracking} WHERE view_name IN ({marks}))"

    def changed_since_views(self, schema: Schema, at_most: int) -> dict[UUID, Changed] | None:
        """The aggregates with events past the position the views stand at: none when the views
        are up to date; None when there are more than `at_most` such events (the views are far
        behind: only `at_most + 1` of them are read, and counted, not sent)."""
        few = int(at_most)
        rows = self.db.fetch(
            f"WITH past AS (SELECT originator_id, originator_version, topic FROM {self.table}"
            f" WHERE {self.position} > {self.views_position(schema)}"
            f" ORDER BY {self.position} LIMIT {few + 1}),"
            " seen AS (SELECT count(*) AS events FROM past)"
            " SELECT originator_id AS id, max(originator_version) AS version,"
            " max(CASE WHEN originator_version = 1 THEN topic END) AS created FROM past"
            f" WHERE (SELECT events FROM seen) <= {few} GROUP BY originator_id"
            f" UNION ALL SELECT NULL, NULL, NULL FROM seen WHERE events > {few}",
            VIEW_NAMES,
        )
        if any(r["id"] is None for r in rows):
            return None
        return {_uuid(r["id"]): Changed(int(r["version"]), r["created"]) for r in rows}


class LatestOnLoop:
    """`LogTable.latest_versions` on PostgreSQL, asked on an asyncio connection of its own (one
    query at a time): a read that checks a kept answer needs no thread of the pool."""

    def __init__(self, settings: Settings) -> None:
        self._conninfo = settings.postgres_conninfo()
        query = LATEST_OF_EACH.format(table=events_table(is_postgres=True))
        self._query = param_style(is_postgres=True).sql(query)
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def latest_versions(self, aggregate_ids: list[UUID]) -> dict[UUID, int]:
        """Each aggregate's latest version in the log; asked again on a new connection when the
        server dropped this one (once: a second failure is the caller's)."""
        for attempt in (1, 2):
            try:
                conn = self._conn or await self._connect()
                cur = await conn.execute(self._query, (aggregate_ids,), prepare=True)
                return {row[0]: int(row[1]) for row in await cur.fetchall() if row[1] is not None}
            except psycopg.OperationalError:
                await self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def _connect(self) -> psycopg.AsyncConnection[Any]:
        self._conn = await psycopg.AsyncConnection.connect(
            self._conninfo, autocommit=True, application_name=CONNECTION_NAME, connect_timeout=5
        )
        return self._conn

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()


def _uuid(stored: Any) -> UUID:
    return stored if isinstance(stored, UUID) else UUID(str(stored))
