"""Reads run again when the pooled PostgreSQL connection they ran on had been dropped by the
server (a restart, a failover, an ended backend): the pool's idle connections are checked
first, so the second run does not meet another connection dropped at the same moment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import eventsourcing.persistence as es
import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

T = TypeVar("T")
# How long a pool keeps trying to replace a connection the server dropped before it gives up,
# so that the next request for a connection starts over with an attempt at once. psycopg_pool's
# own (five minutes) doubles its wait between attempts all along: after an outage of a minute,
# a pool tried again only about a minute after the database was back, and nothing that needed
# it (the engine's writes, the API's reads) moved until then. Its attempts within this time
# are at most four seconds apart.
RECONNECT_SECONDS = 10.0
# What a broken connection is raised as: psycopg's errors, or the library's own raised from them.
CONNECTION_ERRORS = (
    psycopg.OperationalError,
    psycopg.InterfaceError,
    es.OperationalError,
    es.InterfaceError,
)


def is_dropped_connection(exc: BaseException) -> bool:
    """Whether `exc` (or an error it was raised from, as the library raises its own) says the
    connection broke; not a pool that had no connection to give in time (the server is away:
    waiting for one again would double that wait)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__
    if any(isinstance(e, PoolTimeout) for e in chain):
        return False
    return any(isinstance(e, psycopg.OperationalError | psycopg.InterfaceError) for e in chain)


def again_on_live_connection(read: Callable[[], T], pool: Any) -> T:
    """`read()` (a read: it may run twice); when the connection it ran on had been dropped,
    `pool`'s idle connections are checked (the dropped ones given up and replaced) and `read`
    runs once more."""
    try:
        return read()
    except CONNECTION_ERRORS as exc:
        if not is_dropped_connection(exc):
            raise
    pool.check()
    return read()


def connections_check(recorder: Any) -> Callable[[], None] | None:
    """The check of the idle connections of the PostgreSQL pool `recorder` stores on (those
    the server dropped are given up and replaced); None for a store without one (SQLite)."""
    pool = getattr(getattr(recorder, "datastore", None), "pool", None)
    return pool.check if isinstance(pool, ConnectionPool) else None
