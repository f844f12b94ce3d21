"""The worker id's lock on SQLite: flock on a file beside the SQLite file."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from infrastructure.engine.worker_locks import digest, this_process


class FileLock:
    """flock on a file beside the SQLite file; the kernel drops it when the process dies.

    The lock is on the file, not its name: were the file removed or replaced (a tidy-up of the
    data directory), a process starting then would lock a new file under the same name, and
    two live processes would hold one id. So the holder checks that its file is still the one
    named, and takes the lock on the new one if that is free.
    """

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self._path = path

    @classmethod
    def take(cls, database: str, worker_id: str) -> FileLock | str:
        """The lock, or a description of the process holding it."""
        db = Path(database).resolve()
        return cls._take(db.with_name(f"{db.name}-worker-{digest(worker_id).hex()}.lock"))

    @classmethod
    def _take(cls, path: Path) -> FileLock | str:
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 300, 0).decode(errors="replace").strip()
                os.close(fd)
                return holder or "another process"
            lock = cls(fd, path)
            if lock._named():
                break
            lock.release()  # the file was removed or replaced while it was being locked
        os.ftruncate(fd, 0)
        os.pwrite(fd, (this_process() + "\n").encode(), 0)
        return lock

    def _named(self) -> bool:
        """Whether the file locked is the one the lock's name points to now."""
        assert self._fd is not None
        try:
            named = os.stat(self._path)
        except FileNotFoundError:
            return False
        locked = os.fstat(self._fd)
        return (named.st_dev, named.st_ino) == (locked.st_dev, locked.st_ino)

    def holds(self) -> bool:
        """True while the file locked is the one named; when it was removed or replaced, the
        lock is taken on the file named now if it is free (False if another process holds it)."""
        if self._fd is None:
            return False
        if self._named():
            return True
        taken = self._take(self._path)
        if isinstance(taken, str):
            return False
        self.release()
        self._fd, taken._fd = taken._fd, None
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
