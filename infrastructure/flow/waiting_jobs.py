"""Which jobs have a call waiting for registration API capacity in any worker on a PostgreSQL
database: the record each worker's ledger round keeps of its waiting calls' jobs (rows live
a couple of seconds past the worker's last round, so a killed worker's calls drop out)."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import ProgrammingError
from psycopg.errors import UndefinedTable

from infrastructure.dropped_connections import again_on_live_connection
from infrastructure.flow.ledger_tables import WAITING_JOBS

SELECT_WAITING = (
    f"SELECT DISTINCT unnest(job_ids) AS job_id FROM {WAITING_JOBS} "
    "WHERE expires_at > clock_timestamp()"
)


def shared_waiting_job_ids(recorder: Any) -> set[str]:
    """The jobs with a call waiting in any worker, in one query on the connections of the
    store's PostgreSQL `recorder` (asked again on a live one if the server had dropped its
    connection); none before any worker kept the record."""
    return again_on_live_connection(lambda: _waiting(recorder), recorder.datastore.pool)


def _waiting(recorder: Any) -> set[str]:
    try:
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(SELECT_WAITING)
            return {str(row["job_id"]) for row in cursor.fetchall()}
    except ProgrammingError as exc:
        if isinstance(exc.__cause__, UndefinedTable):
            return set()
        raise
