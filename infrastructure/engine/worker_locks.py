"""The locks that keep a worker id to one live process on one store.

A session advisory lock on PostgreSQL, held on a connection kept for the process life; a file
lock beside the SQLite file (`file_lock`), which the kernel drops when the process dies; nothing
for a store in memory, which is private to its process.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
from typing import Protocol

import psycopg

from infrastructure.settings import Settings


class WorkerLock(Protocol):
    """A held worker id: whether it is still ours, and giving it up."""

    def holds(self) -> bool: ...

    def release(self) -> None: ...


def digest(worker_id: str) -> bytes:
    """Eight bytes that stand for `worker_id` in a lock's key or file name."""
    return hashlib.blake2b(f"regflow worker:{worker_id}".encode(), digest_size=8).digest()


def advisory_key(worker_id: str) -> int:
    """The key of the PostgreSQL advisory lock that holds `worker_id`."""
    return int.from_bytes(digest(worker_id), "big", signed=True)


def this_process() -> str:
    """This process, as a holder of a worker id is named (pid and host: the id is known)."""
    return f"regflow pid {os.getpid()} on {socket.gethostname()}"


class AdvisoryLock:
    """A session advisory lock on a connection kept for the process life."""

    def __init__(self, settings: Settings, worker_id: str, conn: psycopg.Connection) -> None:
        self._settings, self._worker_id, self._conn = settings, worker_id, conn
        self._key = advisory_key(worker_id)
        self._held = False  # whether the session of `_conn` holds the lock

    @classmethod
    def take(cls, settings: Settings, worker_id: str) -> AdvisoryLock | str:
        conn = cls._connect(settings, worker_id)
        lock = cls(settings, worker_id, conn)
        if lock._try():
            return lock
        holder = lock._holder()
        conn.close()
        return holder

    @staticmethod
    def _connect(settings: Settings, worker_id: str) -> psycopg.Connection:
        # PostgreSQL keeps 63 bytes of a session's name: the process, not the id (too long
        # an id would have cut itself short in the holder's name).
        name = this_process()[:63]
        conninfo = settings.postgres_conninfo()
        return psycopg.connect(conninfo, autocommit=True, connect_timeout=5, application_name=name)

    def _try(self) -> bool:
        row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
        self._held = bool(row and row[0])
        return self._held

    def _holder(self) -> str:
        row = self._conn.execute(
            """SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
              AND l.classid::bigint = %s AND l.objid::bigint = %s""",
            ((self._key >> 32) & 0xFFFFFFFF, self._key & 0xFFFFFFFF),
        ).fetchone()
        return str(row[0]) if row and row[0] else "another process"

    def holds(self) -> bool:
        """True while the lock is ours; after a lost session, takes it again if it is free.

        A session lost and not retaken (another process took the id meanwhile) is not the
        holder, however well its new connection answers: each later call tries to take the
        lock again, on that connection, until it is free. Raises psycopg.Error while the
        server cannot be reached: whether the id is still ours is unknown then, as it is for
        the leases, which expire on their own.
        """
        try:
            if self._held:
                self._conn.execute("SELECT 1")
                return True
            return self._try()
        except psycopg.Error:
            self._held = False
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = self._connect(self._settings, self._worker_id)
        return self._try()

    def release(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self._conn.close()


class HeldForGood:
    """A worker id nobody else can hold: an in-memory store is private to its process (and a
    simulated worker is one per id by construction), so there is nothing to lock."""

    def holds(self) -> bool:
        return True

    def release(self) -> None:
        return None
