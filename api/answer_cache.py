"""Answers of GET /jobs/{id} kept in memory, dropped the moment the view runner here changes the
job's row: a repeated read costs neither a database round trip nor JSON nor gzip.

The cache is only consulted while this process runs the views (it then hears every change
before a read-your-writes wait returns); a read that raced with a change is not kept. A kept
answer is sent only after the log is asked whether it holds a newer version of the job (one
lookup shared by concurrent reads, `api.latest_versions`): the views' runner may be held up,
or another process may have recorded a change whose wait for the views gave up.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, Generic, TypeVar
from uuid import UUID

from domain.erasure import OrganisationErasure
from projections.views import is_job_event

ANSWER_CACHE_SIZE = 4096  # answers of a few kB each: the jobs operators are looking at now
STAMPS_KEPT = 65_536  # beyond this many changed jobs remembered, refuse every older read

A = TypeVar("A")


class JobAnswerCache(Generic[A]):
    """A bounded map of job id to answer, kept honest by the view runner's changes.

    A reader takes a `ticket` before reading the row, and `put` refuses the answer when the
    job changed (or began to change) since: a slow read never overwrites a newer row.
    """

    def __init__(self, size: int = ANSWER_CACHE_SIZE) -> None:
        self._size = size
        self._answers: OrderedDict[int, tuple[str, A]] = OrderedDict()
        self._changing: dict[int, int] = {}  # jobs inside an uncommitted run of the runner
        self._stamps: dict[int, int] = {}  # the ticket at which each job last changed
        self._floor = 0  # tickets below it are refused (everything was forgotten since)
        self._clock = 0
        self._guard = threading.Lock()

    def __len__(self) -> int:
        return len(self._answers)

    def ticket(self) -> int:
        """Take before reading a row; give to `put` with what was read."""
        with self._guard:
            return self._clock

    def get(self, job_id: UUID) -> tuple[str, A] | None:
        """The organisation and answer kept for the job, or None."""
        key = job_id.int
        with self._guard:
            found = self._answers.get(key)
            if found is not None:
                self._answers.move_to_end(key)
            return found

    def put(self, job_id: UUID, organisation_id: str, answer: A, ticket: int) -> bool:
        """Keep an answer read after `ticket`, unless the job changed since; True if kept."""
        key = job_id.int
        with self._guard:
            if ticket < self._floor or key in self._changing:
                return False
            if self._stamps.get(key, -1) > ticket:
                return False
            self._answers[key] = (organisation_id, answer)
            self._answers.move_to_end(key)
            while len(self._answers) > self._size:
                self._answers.popitem(last=False)
            return True

    def changing(self, events: Sequence[Any]) -> None:
        """The rows of these events' jobs are being written: drop them, keep none until done."""
        keys, erased = _touched(events)
        with self._guard:
            for key in keys:
                self._answers.pop(key, None)
                self._changing[key] = self._changing.get(key, 0) + 1
            self._drop_organisations(erased)

    def changed(self, events: Sequence[Any]) -> None:
        """The rows are written: reads that began before now must not be kept."""
        keys, erased = _touched(events)
        with self._guard:
            self._clock += 1
            for key in keys:
                self._answers.pop(key, None)
                left = self._changing.pop(key, 1) - 1
                if left > 0:
                    self._changing[key] = left
                self._stamps[key] = self._clock
            self._drop_organisations(erased)
            if len(self._stamps) > STAMPS_KEPT:
                self._stamps.clear()
                self._floor = self._clock

    def forgotten(self) -> None:
        """The views may have changed in any way: drop everything and refuse older reads."""
        with self._guard:
            self._answers.clear()
            self._changing.clear()
            self._stamps.clear()
            self._clock += 1
            self._floor = self._clock

    def _drop_organisations(self, organisation_ids: set[str]) -> None:
        if not organisation_ids:
            return
        for key in [k for k, (org, _) in self._answers.items() if org in organisation_ids]:
            del self._answers[key]


def _touched(events: Sequence[Any]) -> tuple[list[int], set[str]]:
    """The jobs whose rows these events change, and the organisations they erase."""
    keys, erased = [], set()
    for event in events:
        if is_job_event(event):
            keys.append(event.originator_id.int)
        elif isinstance(event, OrganisationErasure.Created):
            erased.add(event.organisation_id)
    return keys, erased
