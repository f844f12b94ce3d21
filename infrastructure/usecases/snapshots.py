"""Snapshots of long jobs, taken with the library's `take_snapshot` every so many events and as
read; a job keeps its latest snapshot only (the recorders' insert deletes the older ones)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from typing import Any
from uuid import UUID

from eventsourcing.domain import (
    CanMutateAggregate,
    CanSnapshotAggregate,
    OriginatorIDError,
    OriginatorVersionError,
)
from eventsourcing.persistence import Transcoding

from domain.job_events import JOB_TOPIC
from domain.job_state import SubStepState

# A job's replay reads at most this many events after its latest snapshot (jobs have ~35-120).
SNAPSHOT_EVERY = 100
# A job read with more events than this after its latest snapshot (an operator editing it, a
# worker resuming it) is snapshotted as read, so the next reads of it fold a few events only.
SNAPSHOT_AFTER_READING = 10
_STATE_FIELDS = frozenset(f.name for f in fields(SubStepState))
_LIBRARY_MUTATE = CanMutateAggregate.mutate


class SubStepStateAsDict(Transcoding):
    """A sub-step's state inside a job snapshot (fields added later take their defaults)."""

    type = SubStepState
    name = "regflow_sub_step_state"

    def encode(self, obj: SubStepState) -> dict[str, Any]:
        return {name: getattr(obj, name) for name in _STATE_FIELDS}

    def decode(self, data: dict[str, Any]) -> SubStepState:
        return SubStepState(**{k: v for k, v in data.items() if k in _STATE_FIELDS})


class FrozensetAsList(Transcoding):
    """A frozenset of a job's state (sub-steps completed in this run) inside a snapshot."""

    type = frozenset
    name = "regflow_frozenset"

    def encode(self, obj: frozenset[Any]) -> list[Any]:
        return sorted(obj, key=repr)

    def decode(self, data: list[Any]) -> frozenset[Any]:
        return frozenset(data)


SNAPSHOT_TRANSCODINGS = (SubStepStateAsDict, FrozensetAsList)


def due_snapshots(events: Iterable[Any], every: int) -> dict[UUID, int]:
    """Jobs whose new events reached a multiple of `every`, with the last such version."""
    due: dict[UUID, int] = {}
    for event in events:
        topic = getattr(type(event), "TOPIC", "")
        if event.originator_version % every == 0 and topic.startswith(JOB_TOPIC + "."):
            due[event.originator_id] = event.originator_version
    return due


def fold_events(aggregate: Any, events: Iterable[Any]) -> Any:
    """The library's `project_aggregate` without its per-event runtime Protocol check.

    That check (an `assert isinstance(event, CanMutateProtocol)`) costs about 70 microseconds
    an event on Python 3.11, more than decrypting and decoding it. An event whose `mutate` is
    the library's `CanMutateAggregate.mutate` is applied by the same steps written out here,
    with the id compared by identity first (every event read from one aggregate's rows holds
    its id object): the library's call and its `UUID.__ne__` cost about as much as `apply`.
    """
    for event in events:
        if aggregate is None or type(event).mutate is not _LIBRARY_MUTATE:
            aggregate = event.mutate(aggregate)
            continue
        originator_id, aggregate_id = event.originator_id, aggregate.id
        if originator_id is not aggregate_id and originator_id != aggregate_id:
            raise OriginatorIDError(originator_id, aggregate_id)
        version, next_version = event.originator_version, aggregate.version + 1
        if version != next_version:
            raise OriginatorVersionError(version, next_version)
        event.apply(aggregate)
        aggregate.version = version
        aggregate.modified_on = event.timestamp
    return aggregate


class CountingFold:
    """`fold_events` that also counts the events it folds after the snapshot it starts from."""

    def __init__(self) -> None:
        self.events = 0

    def __call__(self, aggregate: Any, events: Iterable[Any]) -> Any:
        return fold_events(aggregate, self._counted(events))

    def _counted(self, events: Iterable[Any]) -> Iterable[Any]:
        for event in events:
            if not isinstance(event, CanSnapshotAggregate):
                self.events += 1
            yield event
