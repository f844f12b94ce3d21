"""Group commit for threads: saves that arrive while one is being written go together next."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from eventsourcing.persistence import IntegrityError, PersistenceError

Write = Callable[[list[Any]], Any]


class WriterStopped(RuntimeError):
    """The thread writing a group was stopped before this save was settled: not stored."""


class _Ticket:
    def __init__(self, events: list[Any]) -> None:
        self.events = events
        self.done = False
        self.recordings: list[Any] = []
        self.error: BaseException | None = None


class GroupCommit:
    """One writer at a time; the saves queued behind it share the next transaction.

    Every save still gets its own answer: its recordings, or the error of its own events
    (a group that meets a stale version, or events that cannot be written, is written again
    one save at a time; only a failure of the storage itself reaches the whole group).
    """

    def __init__(self, write: Write) -> None:
        self._write = write
        self._changed = threading.Condition()
        self._queue: list[_Ticket] = []
        self._writing = False
        self.groups = 0

    def save(self, events: list[Any]) -> list[Any]:
        """Store `events` in one transaction (maybe with others'); their recordings."""
        ticket = _Ticket(events)
        with self._changed:
            self._queue.append(ticket)
            while self._writing and not ticket.done:
                self._changed.wait()
            if not ticket.done:
                group, self._queue = self._queue, []
                self._writing = True
        if not ticket.done:
            try:
                self._write_group(group)
            except BaseException as exc:
                # The writer was stopped (an interrupt, a cancelled thread): the saves it was
                # writing for others must not come back as stored.
                for other in group:
                    if not other.done:
                        _settle(other, error=WriterStopped(f"the group's writer stopped: {exc!r}"))
                raise
            finally:
                with self._changed:
                    self._writing = False
                    self._changed.notify_all()
        if ticket.error is not None:
            raise ticket.error
        return ticket.recordings

    def _write_group(self, group: Sequence[_Ticket]) -> None:
        self.groups += 1
        try:
            written = self._write([e for t in group for e in t.events])
        except IntegrityError as exc:
            if len(group) == 1:
                _settle(group[0], error=exc)
                return
            for ticket in group:
                self._write_group([ticket])
            return
        except PersistenceError as exc:  # the storage failed: every save of the group meets it
            for ticket in group:
                _settle(ticket, error=exc)
            return
        except Exception as exc:
            if len(group) == 1:
                _settle(group[0], error=exc)
                return
            for ticket in group:  # one save's events could not be written: it fails alone
                self._write_group([ticket])
            return
        recordings = written if isinstance(written, list) else []  # a lost commit found stored
        by_event = {id(r.domain_event): r for r in recordings}
        for ticket in group:
            _settle(ticket, [by_event[id(e)] for e in ticket.events if id(e) in by_event])


def _settle(ticket: _Ticket, recordings: list[Any] | None = None, error: Any = None) -> None:
    ticket.recordings = recordings or []
    ticket.error = error
    ticket.done = True
