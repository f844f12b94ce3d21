"""The store's event store and repository: one aggregate's rows read and mapped to events in one
pass, with its latest snapshot in the same read where the recorder can."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import EventStore, MapperDeserialisationError, StoredEvent

log = logging.getLogger("regflow.storage")
MOST_COUNTED = 100_000  # jobs whose snapshot a process remembers counting
Row = tuple[int, str, bytes]  # a stored event's version, topic and state


class VersionsSkipped(Exception):
    """The stored events of one aggregate, read in order, skip a version: rows were deleted or
    renumbered by hand. Raised as they are read, before any is applied."""

    def __init__(self, originator_id: UUID | str, found: int, expected: int) -> None:
        super().__init__(originator_id, found, expected)
        self.originator_id, self.found, self.expected = originator_id, found, expected

    def __str__(self) -> str:
        return (
            f"the stored events of {self.originator_id} are out of sequence: version "
            f"{self.found} is stored where version {self.expected} should be (an event deleted "
            "or renumbered)"
        )


class EventsMissingBeforeSnapshot(VersionsSkipped):
    """Fewer events are stored up to an aggregate's snapshot than the snapshot's version: an
    event it was taken after was deleted or renumbered by hand. A load that starts from the
    snapshot reads none of them, so it counts them."""

    def __init__(self, originator_id: UUID | str, stored: int, version: int) -> None:
        super().__init__(originator_id, stored, version)
        self.stored, self.version = stored, version

    def __str__(self) -> str:
        return (
            f"the stored events of {self.originator_id} are out of sequence: {self.stored} "
            f"events are stored up to its snapshot at version {self.version}, which was taken "
            f"after {self.version} (an event deleted or renumbered)"
        )


def check_stored_before(originator_id: UUID | str, stored: int, version: int) -> None:
    """Raise EventsMissingBeforeSnapshot unless `stored` events are up to the snapshot at
    `version` (versions start at 1)."""
    if stored != version:
        raise EventsMissingBeforeSnapshot(originator_id, stored, version)


def check_versions(
    originator_id: UUID | str, versions: Iterable[int], first: int | None, desc: bool
) -> None:
    """Raise VersionsSkipped unless `versions` go by one, down when `desc`, from `first`
    (None: from wherever they start)."""
    step = -1 if desc else 1
    expected = first
    for found in versions:
        if expected is not None and found != expected:
            raise VersionsSkipped(originator_id, found, expected)
        expected = found + step


class EventsFromRows:
    """A recorder's `select_events` made from its `select_rows`: the rows of one aggregate,
    each with the one id the recorder gives back."""

    def select_rows(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> tuple[UUID | str, Sequence[Row]]:
        raise NotImplementedError

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """The library's query, with the one id converted once rather than once per event."""
        stored_id, rows = self.select_rows(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
        return [StoredEvent(stored_id, *row) for row in rows]


class RowEventStore(EventStore[UUID]):
    """The library's event store; where the recorder gives rows (`select_rows`) and the
    mapper maps them (`events_of`), one aggregate's events are read without a `StoredEvent`
    per row and mapped in one loop. The events are the ones the library's reading gives."""

    def get(
        self,
        originator_id: UUID,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Iterator[DomainEventProtocol[UUID]]:
        select_rows: Any = getattr(self.recorder, "select_rows", None)
        events_of: Any = getattr(self.mapper, "events_of", None)
        if select_rows is None or events_of is None:
            return super().get(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
        stored_id, rows = select_rows(originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
        # Read in order from the first version asked for, they go by one: a row deleted or
        # renumbered by hand is said as what it is, not as an error of the code applying them.
        check_versions(stored_id, (row[0] for row in rows), None if desc else (gt or 0) + 1, desc)
        found: Iterator[DomainEventProtocol[UUID]] = events_of(stored_id, rows)
        return found


class SnapshotAndEventsRepository(Repository[UUID]):
    """The library's repository, in two ways its own.

    Where the events' recorder reads an aggregate's latest snapshot and the events after it
    in one statement (`select_rows_after_snapshot`), the current version of an aggregate is
    read so: one round trip instead of two for every load of a job.

    A snapshot that cannot be read (its bytes edited, or sealed with a key since lost) is
    passed over with a warning and the aggregate folded from its events: a snapshot only
    saves folding, and the events are what the job is. The aggregate is the one the
    library's reading gives.
    """

    # The events before a snapshot, counted once a process: a count reads the job's whole index
    # (a sixth of an edit at 2,000 events). One deleted after its snapshot was counted is seen
    # at the job's next snapshot (after at most 10 events folded) and by `verify-log`.
    _complete: dict[Any, int]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._complete = {}

    def _reconstruct_aggregate(
        self, aggregate_id: Any, version: int | None, projector_func: Any
    ) -> Any:
        try:
            start, events = self._snapshot_and_events(aggregate_id, version)
        except SnapshotUnreadable as unreadable:
            log.warning("%s; the job is folded from its events instead", unreadable)
            start, events = [], self.event_store.get(aggregate_id, lte=version)
        aggregate = projector_func(None, chain(start, events))
        if aggregate is None:
            raise AggregateNotFoundError(
                f"Aggregate {aggregate_id!r} version {version!r} not found."
            )
        return aggregate

    def _snapshot_and_events(
        self, aggregate_id: Any, version: int | None
    ) -> tuple[list[Any], Iterable[Any]]:
        """The latest snapshot (up to `version`) as a list of none or one, and the events
        after it; SnapshotUnreadable when the snapshot is there but cannot be read."""
        snapshots, events = self.snapshot_store, self.event_store
        if snapshots is None:
            return [], events.get(aggregate_id, lte=version)
        read: Any = getattr(events.recorder, "select_rows_after_snapshot", None)
        events_of: Any = getattr(events.mapper, "events_of", None)
        if (
            version is None
            and snapshots.mapper is events.mapper
            and read is not None
            and events_of is not None
            and isinstance(aggregate_id, UUID)
        ):
            counted = self._complete.get(aggregate_id, 0)
            stored_id, row, stored_before, rows = read(snapshots.recorder, aggregate_id, counted)
            first = row[0] + 1 if row is not None else 1
            if row is not None and stored_before is not None:
                check_stored_before(stored_id, stored_before, row[0])
                self._counted(aggregate_id, row[0])
            check_versions(stored_id, (r[0] for r in rows), first, False)
            start = [] if row is None else _readable(StoredEvent(stored_id, *row), snapshots.mapper)
            return start, events_of(stored_id, rows)
        taken = snapshots.recorder.select_events(aggregate_id, desc=True, limit=1, lte=version)
        found = [] if not taken else _readable(taken[0], snapshots.mapper)
        gt = found[0].originator_version if found else None
        count: Any = getattr(events.recorder, "count_events", None)
        if gt is not None and count is not None and self._complete.get(aggregate_id, 0) < gt:
            check_stored_before(aggregate_id, count(aggregate_id, gt), gt)
            self._counted(aggregate_id, gt)
        return found, events.get(aggregate_id, gt=gt, lte=version)

    def _counted(self, aggregate_id: Any, version: int) -> None:
        """Every event up to `version` was found stored: its snapshot is not counted again."""
        if len(self._complete) >= MOST_COUNTED:
            self._complete.clear()
        self._complete[aggregate_id] = max(version, self._complete.get(aggregate_id, 0))


class SnapshotUnreadable(Exception):
    """A job's snapshot is stored but cannot be read."""


def _readable(stored: StoredEvent, mapper: Any) -> list[Any]:
    """The snapshot `mapper` reads from `stored`, as a list of one; SnapshotUnreadable when it
    cannot be decrypted or decoded."""
    try:
        return [mapper.to_domain_event(stored)]
    except MapperDeserialisationError as exc:
        raise SnapshotUnreadable(
            f"the snapshot of {stored.originator_id} at version {stored.originator_version}"
            f" cannot be read ({exc})"
        ) from exc
