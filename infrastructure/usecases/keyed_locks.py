"""One lock per key, held only while someone uses it: a process's commands of one job take
turns, so they never race each other to the log."""

from __future__ import annotations

import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager


class KeyedLocks:
    """Locks by key, made when first taken and dropped when the last user lets go."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Hashable, tuple[threading.RLock, list[int]]] = {}

    @contextmanager
    def held(self, key: Hashable) -> Iterator[None]:
        """Hold the lock of `key` (re-entrant: a holder may take it again)."""
        with self._guard:
            lock, users = self._locks.setdefault(key, (threading.RLock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users[0] -= 1
                if users[0] == 0:
                    del self._locks[key]
