"""The views with some rows stood in for: rows folded from the log in place of the views' own
(or beside them, for jobs and batches the views have no row of yet), read by the views' own
queries, unchanged.

The rows go to temporary tables of one connection; a temporary view over each table of the
views shows its rows with those in their place, under the names a schema of its own gives the
queries. Everything is rolled back (PostgreSQL) or closed (SQLite) when the read ends, so
nothing is written that another reader or the views' runner could see or wait for.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from projections.database import Database
from projections.job_pages import JobPageQueries
from projections.job_view import JOB_COLUMNS
from projections.queries import ViewQueries
from projections.schema import Schema
from projections.views import BATCH_COLUMNS, insert_sql

OVERLAID = Schema(prefix="regflow_now_")


class Reads(ViewQueries, JobPageQueries):
    """Every query the API asks of the views, on one set of their tables."""


class OneConnection(Database):
    """A Database whose reads all run on one connection it was given."""

    def __init__(self, db: Database, conn: Any) -> None:
        super().__init__(db.settings)
        self.conn = conn

    @contextmanager
    def reading(self) -> Iterator[Any]:
        cur = self.conn.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def fetch(self, query: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a query on the one connection (never asked again on another one: the
        temporary tables are this connection's)."""
        return self._fetch(query, params)


@contextmanager
def overlaid(
    db: Database,
    live: Schema,
    jobs: Sequence[Sequence[Any]],
    batches: Sequence[Sequence[Any]],
) -> Iterator[Reads]:
    """Queries of the `live` views as they would stand with these job and batch rows (each as
    its view stores it) in place of theirs."""
    with db.reading() as cur:
        conn = cur.connection
        if db.is_postgres:
            with conn.transaction(force_rollback=True):
                _stand_in(db, cur, live, jobs, batches)
                yield Reads(OneConnection(db, conn), OVERLAID)
        else:
            _stand_in(db, cur, live, jobs, batches)
            yield Reads(OneConnection(db, conn), OVERLAID)


def _stand_in(
    db: Database,
    cur: Any,
    live: Schema,
    jobs: Sequence[Sequence[Any]],
    batches: Sequence[Sequence[Any]],
) -> None:
    """Make the temporary tables and the views over them on the connection of `cur`."""
    for table, shown, key, columns, rows in (
        (live.jobs, OVERLAID.jobs, "job_id", JOB_COLUMNS, jobs),
        (live.batches, OVERLAID.batches, "batch_id", BATCH_COLUMNS, batches),
    ):
        folded = f"{shown}_folded"
        if db.is_postgres:
            cur.execute(f"CREATE TEMPORARY TABLE {folded} (LIKE {table})")
        else:
            table = f"main.{table}"
            cur.execute(f"CREATE TEMPORARY TABLE {folded} AS SELECT * FROM {table} WHERE 0")
        if rows:
            cur.executemany(db.sql(insert_sql(folded, columns)), [list(r) for r in rows])
        cur.execute(
            f"CREATE TEMPORARY VIEW {shown} AS SELECT * FROM {table}"
            f" WHERE {key} NOT IN (SELECT {key} FROM {folded}) UNION ALL SELECT * FROM {folded}"
        )
