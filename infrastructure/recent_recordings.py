"""The events this process has just committed, kept for its own views' runner.

A runner that stands at log position P needs the events at P+1, P+2, ... To find them it reads
the log and decodes every row (decrypting its sealed fields) although, for an edit or an engine
step of this very process, the events are in memory already, committed a moment ago. This
holds them, by notification id, until the runner takes them or they fall out.

It hands a runner only a run of ids that starts right after the runner's position and has no
gap, so a handed run is exactly what reading the log would have returned first: both stores
give notification ids in the order their writes commit (PostgreSQL under the events table's
lock, SQLite under its one writer), every id handed is committed, and no other id lies between
two consecutive ones. Anything else (another process's events, a gap of a rolled-back write, a
run that fell out) leaves the runner reading the log as before. An erasure is never handed: its
reading from the log also drops the keys this process cached.

The log's notice of a commit (PostgreSQL's NOTIFY) can wake the runner between the commit and
the moment the saving thread hands its recordings over; the runner would then read what it was
about to be handed. So a wake from the log that arrives while a save of this process is under
way is held until that save has handed its recordings over (or failed), and delivered then.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import Recording

KEPT = 2000  # recordings held at most: a runner this far behind reads the log anyway


class RecentRecordings:
    """Committed recordings by notification id, oldest first; safe across threads."""

    def __init__(self, kept: int = 0, never: Iterable[str] = ()) -> None:
        self.kept = kept  # 0 until a runner of this process takes from it: nothing is held
        self.never = frozenset(never)  # topics a runner must read from the log
        self._by_id: OrderedDict[int, Recording[Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._saving = 0
        self._held: list[Callable[[], None]] = []

    def keep(self, kept: int = KEPT) -> None:
        """Hold up to `kept` recordings from now on: a runner of this process takes them."""
        self.kept = kept

    def add(self, recordings: Sequence[Recording[Any]]) -> None:
        """Keep recordings just committed (their notification ids set)."""
        if not self.kept:
            return
        with self._lock:
            for recording in recordings:
                notification_id = recording.notification.id
                if notification_id is not None:
                    self._by_id[notification_id] = recording
            while len(self._by_id) > self.kept:
                self._by_id.popitem(last=False)

    @contextmanager
    def saving(self) -> Iterator[None]:
        """Around a save that hands its recordings over: wakes from the log wait for it."""
        with self._lock:
            self._saving += 1
        try:
            yield
        finally:
            with self._lock:
                self._saving -= 1
                held, self._held = self._held, []
            for wake in held:
                wake()

    def wake_after_saves(self, wake: Callable[[], None]) -> None:
        """`wake()` now or, while a save of this process is under way, once it is over."""
        with self._lock:
            if self._saving and self.kept:
                if wake not in self._held:
                    self._held.append(wake)
                return
        wake()

    def after(self, position: int, limit: int, stop: int | None = None) -> list[Recording[Any]]:
        """The recordings at position+1, position+2, ... without a gap, at most `limit`, none
        past `stop`; empty when the one right after `position` is not held. Drops what lies
        at or before `position`: the runner has it."""
        taken: list[Recording[Any]] = []
        with self._lock:
            by_id = self._by_id
            while by_id:
                oldest = next(iter(by_id))
                if oldest > position:
                    break
                del by_id[oldest]
            wanted = position + 1
            while len(taken) < limit and (stop is None or wanted <= stop):
                recording = by_id.get(wanted)
                if recording is None or recording.notification.topic in self.never:
                    break
                taken.append(recording)
                wanted += 1
        return taken

    def clear(self) -> None:
        with self._lock:
            self._by_id.clear()

    def __len__(self) -> int:
        return len(self._by_id)
