"""A read meeting a connection the server dropped runs again once, after the pool's idle
connections are checked; a pool that gave no connection in time is not waited on twice."""

from __future__ import annotations

import eventsourcing.persistence as es
import psycopg
import pytest
from psycopg_pool import PoolTimeout

from infrastructure.dropped_connections import again_on_live_connection


class Pool:
    def __init__(self) -> None:
        self.checks = 0

    def check(self) -> None:
        self.checks += 1


def raised_from(error: Exception, cause: Exception) -> Exception:
    error.__cause__ = cause
    return error


def reading(first: Exception) -> tuple[list[int], object]:
    runs: list[int] = []

    def read() -> str:
        runs.append(1)
        if len(runs) == 1:
            raise first
        return "rows"

    return runs, read


DROPPED = [
    psycopg.OperationalError("terminating connection due to administrator command"),
    psycopg.InterfaceError("the connection is closed"),
    raised_from(es.OperationalError("server closed the connection"), psycopg.OperationalError()),
]
NOT_DROPPED = [
    PoolTimeout("couldn't get a connection after 3.00 sec"),
    raised_from(es.OperationalError("couldn't get a connection"), PoolTimeout()),
    psycopg.errors.UndefinedTable("no such table"),
    ValueError("a fault of the read"),
]


@pytest.mark.parametrize("error", DROPPED, ids=repr)
def test_a_read_on_a_dropped_connection_runs_again_after_a_check(error: Exception) -> None:
    pool, (runs, read) = Pool(), reading(error)
    assert again_on_live_connection(read, pool) == "rows"  # type: ignore[arg-type]
    assert (len(runs), pool.checks) == (2, 1)


@pytest.mark.parametrize("error", NOT_DROPPED, ids=repr)
def test_other_errors_are_raised_after_one_run(error: Exception) -> None:
    pool, (runs, read) = Pool(), reading(error)
    with pytest.raises(type(error)):
        again_on_live_connection(read, pool)  # type: ignore[arg-type]
    assert (len(runs), pool.checks) == (1, 0)
