"""Outsized saves on a connection of their own, closed after them.

libpq grows a connection's output buffer to the largest message it has sent and never shrinks
it (its input buffer likewise, to the largest result). A save of thousands of events (creating
or starting a batch of 1,000 jobs is one INSERT of several megabytes) left a buffer that size in
the pooled connection that carried it, and the pool hands its connections out in turn: batch
after batch, each of them came to hold one, about 4.5 MB of the server's memory per batch until
every connection of the pool had carried such a save. Such a save now gets a connection opened
for it, and the buffer is freed with that connection when it closes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from eventsourcing import persistence
from eventsourcing import postgres as es_pg
from eventsourcing.persistence import StoredEvent
from psycopg import Connection
from psycopg.rows import DictRow
from psycopg.types.composite import register_composite

from infrastructure.chain.datastore_around import DatastoreAround

# A message this large is sent on a connection of its own. Pooled connections keep buffers of
# at most about twice this (libpq doubles a buffer to fit), a few megabytes for the whole pool;
# an extra connection costs about 8 ms of connecting here (loopback, median of 20, under load),
# once per save this large, next to the seconds such a save's batch takes to run.
OUTSIZED_BYTES = 256 * 1024

# The library's own mapping (`PostgresDatastore.get_connection`), most specific first.
_ERRORS = [
    (getattr(psycopg, name), getattr(persistence, name))
    for name in (
        "InterfaceError",
        "OperationalError",
        "DataError",
        "IntegrityError",
        "InternalError",
        "ProgrammingError",
        "NotSupportedError",
        "DatabaseError",
    )
]


def message_bytes(stored_events: Sequence[StoredEvent]) -> int:
    """At most about how large the INSERT of these events is.

    A state is counted twice, as if sent as text (hex): the binary insert sends it once, so the
    estimate errs toward a connection of its own, never toward a grown pooled buffer.
    """
    return sum(2 * len(e.state) + len(e.topic) + 64 for e in stored_events)


def is_outsized(stored_events: Sequence[StoredEvent]) -> bool:
    return message_bytes(stored_events) >= OUTSIZED_BYTES


def _conninfo(pool: es_pg.ConnectionPool[Any]) -> str:
    return pool.conninfo if isinstance(pool.conninfo, str) else pool.conninfo()


def _kwargs(pool: es_pg.ConnectionPool[Any]) -> dict[str, Any]:
    kwargs = pool.kwargs() if callable(pool.kwargs) else dict(pool.kwargs or {})
    return {"connect_timeout": max(round(pool.timeout), 1), **kwargs}


class OwnConnection(DatastoreAround):
    """The datastore, except that `get_connection` opens a connection and closes it after use."""

    @contextmanager
    def get_connection(self) -> Iterator[Connection[DictRow]]:
        pool = self._datastore.pool
        try:
            with Connection[DictRow].connect(_conninfo(pool), **_kwargs(pool)) as conn:
                self._datastore.after_connect_func()(conn)
                for info in self._datastore.psycopg_type_adapters.values():
                    register_composite(info, conn)
                yield conn
        except psycopg.Error as e:
            for theirs, ours in _ERRORS:
                if isinstance(e, theirs):
                    raise ours(str(e)) from e
            raise
