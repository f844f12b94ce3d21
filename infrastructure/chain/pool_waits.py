"""A store whose pool cannot hand out a connection is given up on at once, not ten times over.

The library retries every read and write that raises its OperationalError ten times, 0.2 s
apart, and a pool that waited its whole timeout (5 s) for a connection raises one: while the
database refused connections, each read took about 50 s, and a command that reads three times
before it writes about three minutes. A wait for a connection that timed out is raised here as
`PoolWaitTimedOut`, which the library does not retry; it is transient, so regflow's own policy
for the boundary decides (`STORAGE_WRITE_POLICY`, `STORE_READ_POLICY`, or a 503 for the API). A
connection that broke while in use is still retried by the library, as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from eventsourcing.persistence import OperationalError
from psycopg import Connection
from psycopg.rows import DictRow
from psycopg_pool import PoolTimeout

from infrastructure.chain.datastore_around import DatastoreAround


class PoolWaitTimedOut(TimeoutError):
    """No connection of the store's pool came free (nor could be opened) within its timeout."""


class BoundedPoolWaits(DatastoreAround):
    """The datastore, except that a timed-out wait for a connection is not the library's to
    retry."""

    @contextmanager
    def get_connection(self) -> Iterator[Connection[DictRow]]:
        try:
            with self._datastore.get_connection() as conn:
                yield conn
        except OperationalError as exc:
            if isinstance(exc.__cause__, PoolTimeout):
                raise PoolWaitTimedOut(str(exc)) from exc
            raise
