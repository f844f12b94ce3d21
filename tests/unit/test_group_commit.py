"""Group commit: saves queued behind a write share the next one; each gets its own answer."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError

from infrastructure.usecases.group_commit import GroupCommit, WriterStopped


@dataclass
class Recorded:
    domain_event: Any


class Store:
    """Writes lists of events; the first write waits until `release` is set."""

    def __init__(
        self,
        stale: set[str] = frozenset(),
        fail: Exception | None = None,
        unwritable: set[str] = frozenset(),
    ) -> None:
        self.writes: list[list[str]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.stale, self.fail, self.unwritable = stale, fail, unwritable

    def write(self, events: list[Any]) -> list[Recorded]:
        self.writes.append(list(events))
        self.entered.set()
        assert self.release.wait(10)
        if self.fail is not None:
            raise self.fail
        if self.stale & set(events):
            raise IntegrityError("stale version")
        if self.unwritable & set(events):
            raise ValueError("an event that cannot be encoded")
        return [Recorded(e) for e in events]


def saves(store: Store, batches: list[list[str]]) -> dict[int, Any]:
    group = GroupCommit(store.write)
    answers: dict[int, Any] = {}

    def run(i: int) -> None:
        try:
            answers[i] = [r.domain_event for r in group.save(batches[i])]
        except Exception as exc:
            answers[i] = exc

    first = threading.Thread(target=run, args=(0,))
    first.start()
    assert store.entered.wait(10)
    rest = [threading.Thread(target=run, args=(i,)) for i in range(1, len(batches))]
    for thread in rest:
        thread.start()
    while len(group._queue) < len(rest):
        threading.Event().wait(0.001)
    store.release.set()
    for thread in (first, *rest):
        thread.join(10)
    return answers


def test_saves_queued_behind_a_write_share_the_next_transaction() -> None:
    store = Store()
    answers = saves(store, [["a1"], ["b1", "b2"], ["c1"], ["d1"]])
    assert answers == {0: ["a1"], 1: ["b1", "b2"], 2: ["c1"], 3: ["d1"]}
    assert len(store.writes) == 2 and sorted(store.writes[1]) == ["b1", "b2", "c1", "d1"]


def test_a_stale_save_fails_alone_and_the_others_of_its_group_are_stored() -> None:
    store = Store(stale={"c1"})
    answers = saves(store, [["a1"], ["b1"], ["c1"], ["d1"]])
    assert isinstance(answers[2], IntegrityError)
    assert (answers[1], answers[3]) == (["b1"], ["d1"])
    assert ["b1"] in store.writes and ["d1"] in store.writes


def test_a_storage_failure_reaches_every_save_of_the_group() -> None:
    store = Store(fail=OperationalError("database went away"))
    answers = saves(store, [["a1"], ["b1"], ["c1"]])
    assert all(isinstance(a, OperationalError) for a in answers.values())
    assert len(store.writes) == 2, "a failing storage is not tried again per save"


@pytest.mark.parametrize("bad", ["b1", "c1", "d1"])
def test_a_save_that_cannot_be_written_fails_alone_whatever_its_place(bad: str) -> None:
    store = Store(unwritable={bad})
    batches = [["a1"], ["b1"], ["c1"], ["d1"]]
    answers = saves(store, batches)
    assert isinstance(answers[batches.index([bad])], ValueError)
    stored = {i: a for i, a in answers.items() if batches[i] != [bad]}
    assert stored == {i: batches[i] for i in stored}, "other organisations' edits are stored"


def test_one_save_alone_is_one_write() -> None:
    store = Store()
    store.release.set()
    assert [r.domain_event for r in GroupCommit(store.write).save(["x"])] == ["x"]
    assert store.writes == [["x"]]


@pytest.mark.parametrize("size", [1, 3])
def test_a_lost_commit_found_stored_answers_no_recordings(size: int) -> None:
    group = GroupCommit(lambda events: object())
    assert group.save(["x"] * size) == []


class Interrupted(BaseException):
    """Stands for what stops a thread: not an error to split a group over."""


def test_a_stopped_writer_leaves_no_save_of_its_group_answered_as_stored() -> None:
    entered, release = threading.Event(), threading.Event()

    def write(events: list[Any]) -> list[Recorded]:
        entered.set()
        assert release.wait(10)
        if "b1" in events:
            raise Interrupted
        return [Recorded(e) for e in events]

    group = GroupCommit(write)
    answers: dict[str, Any] = {}

    def run(name: str) -> None:
        try:
            answers[name] = [r.domain_event for r in group.save([name])]
        except BaseException as exc:
            answers[name] = exc

    first = threading.Thread(target=run, args=("a1",))
    first.start()
    assert entered.wait(10)
    rest = [threading.Thread(target=run, args=(n,)) for n in ("b1", "c1", "d1")]
    for thread in rest:
        thread.start()
    while len(group._queue) < len(rest):
        threading.Event().wait(0.001)
    release.set()
    for thread in (first, *rest):
        thread.join(10)
    assert answers["a1"] == ["a1"]
    outcomes = [answers[n] for n in ("b1", "c1", "d1")]
    assert sum(isinstance(a, Interrupted) for a in outcomes) == 1, outcomes
    assert all(isinstance(a, (Interrupted, WriterStopped)) for a in outcomes), outcomes
    assert [r.domain_event for r in group.save(["e1"])] == ["e1"], "the group writes on"
