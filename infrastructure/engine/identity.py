"""A worker id held while its process lives: one live process per id on one store.

A stable id lets a restarted process reclaim its own leases at once. Two live processes with
the same id would both believe they hold those leases, so the id is locked for the process
life: a session advisory lock on PostgreSQL, a file lock beside the SQLite file. Each hold also
has an incarnation, written into the leases it takes, so a lease taken by a restarted process is
fenced from the process before it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import psycopg

from domain.exceptions import RegflowError
from infrastructure.settings import Settings

log = logging.getLogger("regflow.engine")
MAX_DERIVED = 64


class WorkerIdTaken(RegflowError):
    """The worker id set explicitly is held by another live process on the same store."""


class _Lock(Protocol):
    def holds(self) -> bool: ...

    def release(self) -> None: ...


def _digest(worker_id: str) -> bytes:
    return hashlib.blake2b(f"regflow worker:{worker_id}".encode(), digest_size=8).digest()


def _process() -> str:
    """This process, as a holder of a worker id is named (pid and host: the id is known)."""
    return f"regflow pid {os.getpid()} on {socket.gethostname()}"


class _FileLock:
    """flock on a file beside the SQLite file; the kernel drops it when the process dies."""

    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @classmethod
    def take(cls, database: str, worker_id: str) -> _FileLock | str:
        """The lock, or a description of the process holding it."""
        db = Path(database).resolve()
        path = db.with_name(f"{db.name}-worker-{_digest(worker_id).hex()}.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 300, 0).decode(errors="replace").strip()
            os.close(fd)
            return holder or "another process"
        os.ftruncate(fd, 0)
        os.pwrite(fd, (_process() + "\n").encode(), 0)
        return cls(fd)

    def holds(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class _AdvisoryLock:
    """A session advisory lock on a connection kept for the process life."""

    def __init__(self, settings: Settings, worker_id: str, conn: psycopg.Connection) -> None:
        self._settings, self._worker_id, self._conn = settings, worker_id, conn
        self._key = int.from_bytes(_digest(worker_id), "big", signed=True)
        self._held = False  # whether the session of `_conn` holds the lock

    @classmethod
    def take(cls, settings: Settings, worker_id: str) -> _AdvisoryLock | str:
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
        name = _process()[:63]
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


@dataclass
class WorkerIdentity:
    """The worker id this process holds, and this hold's incarnation."""

    worker_id: str
    lock: _Lock
    incarnation: str = field(default_factory=lambda: uuid.uuid4().hex)

    def holds(self) -> bool:
        """Whether the id is still ours (a lost PostgreSQL session is retaken if free)."""
        return self.lock.holds()

    def release(self) -> None:
        self.lock.release()


def _take(settings: Settings, worker_id: str) -> _Lock | str:
    if settings.is_postgres:
        return _AdvisoryLock.take(settings, worker_id)
    if settings.is_in_memory:
        return HeldForGood()
    return _FileLock.take(settings.sqlite_path, worker_id)


def hold_worker_id(settings: Settings) -> WorkerIdentity:
    """Lock this process's worker id: the one set, or the first free one derived from the store.

    An id set explicitly (REGFLOW_WORKER_ID) that a live process holds is refused; a derived id
    that a live process holds makes this process take the next derived one (`...#2`, `#3`).
    """
    base = settings.effective_worker_id
    explicit = settings.worker_id is not None
    candidates = [base] if explicit else [base, *(f"{base}#{n}" for n in range(2, MAX_DERIVED))]
    holders: list[str] = []
    for candidate in candidates:
        taken = _take(settings, candidate)
        if not isinstance(taken, str):
            if candidate != base:
                log.info("worker id %s is held by %s; this is %s", base, holders[0], candidate)
            return WorkerIdentity(candidate, taken)
        holders.append(taken)
    if explicit:
        raise WorkerIdTaken(
            f"Worker id {base!r} is held by a live process ({holders[0]}) on this store. "
            "Stop that process, or give this one another REGFLOW_WORKER_ID "
            "(or leave it unset to derive a free one)."
        )
    raise WorkerIdTaken(f"All {MAX_DERIVED - 1} worker ids derived from {base!r} are held")
