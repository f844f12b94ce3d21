"""Saves racing for one job version on PostgreSQL: each loser sees a conflict, not an outage."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from infrastructure.chain.verify import verify_chain
from infrastructure.usecases.store import RegistrationStore, Saved
from tests.conftest import store_settings

pytestmark = pytest.mark.postgres

WRITERS = 6
ROUNDS = 15


class Counter(Aggregate):
    """The smallest aggregate that can be raced: every poke is one more event."""

    def poke(self, times: int) -> None:
        for _ in range(times):
            self.trigger_event(self.Poked)

    class Poked(Aggregate.Event):
        pass


@pytest.fixture
def store(pg_url: str) -> Iterator[RegistrationStore]:
    opened = RegistrationStore(store_settings(pg_url), sleep=lambda _: None)
    yield opened
    opened.close()


def race(store: RegistrationStore, counter_id: UUID, pokes: list[int]) -> list[BaseException]:
    """Each writer loads the same version, pokes, and saves at the same moment."""
    copies = [store.repository.get(counter_id) for _ in pokes]
    for copy, times in zip(copies, pokes, strict=True):
        copy.poke(times)
    start = threading.Barrier(len(copies))
    failures: list[BaseException] = []

    def save(copy: Counter) -> None:
        start.wait()
        try:
            store.save(copy)
        except BaseException as exc:  # noqa: BLE001 - every kind of failure is the finding
            failures.append(exc)

    writers = [threading.Thread(target=save, args=(copy,)) for copy in copies]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    return failures


def test_every_loser_of_a_race_sees_a_conflict_and_the_chain_stays_whole(
    store: RegistrationStore,
) -> None:
    counter = Counter()
    store.save(counter)
    expected_version = counter.version
    for round_number in range(ROUNDS):
        # Saves of one and of several events race, so the insert and the chain's
        # look-up of earlier hashes each get to be the statement that meets the conflict.
        pokes = [1 + (round_number + writer) % 3 for writer in range(WRITERS)]
        failures = race(store, counter.id, pokes)
        assert len(failures) == WRITERS - 1
        assert all(isinstance(failure, IntegrityError) for failure in failures), [
            f"{type(failure).__name__}: {failure}" for failure in failures
        ]
        stored = store.repository.get(counter.id)
        assert stored.version > expected_version
        expected_version = stored.version
    report = verify_chain(
        store.recorder.chain_rows(), store.recorder.orphan_links(), key=store.recorder.chain_key
    )
    assert report.ok, report


def grouped_race(store: RegistrationStore, copies: list[Counter]) -> list[object]:
    """Every copy saved at the same moment, each from its own thread, grouped; the answers."""
    start = threading.Barrier(len(copies))
    answers: list[object] = [None] * len(copies)

    def save(index: int, copy: Counter) -> None:
        start.wait()
        try:
            answers[index] = store.store(copy, grouped=True)
        except BaseException as exc:  # noqa: BLE001 - every kind of failure is the finding
            answers[index] = exc

    writers = [threading.Thread(target=save, args=(i, c)) for i, c in enumerate(copies)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    return answers


def test_grouped_saves_racing_each_get_their_own_answer(store: RegistrationStore) -> None:
    """Edits from many threads share transactions: each save's position is its own last
    event; where two copies of one job race, one wins and the other conflicts alone; the
    chain stays whole."""
    counters = [Counter() for _ in range(8)]
    store.save(*counters)
    saves = 0
    writes_before = store.group_commit.groups
    for round_number in range(ROUNDS):
        copies = [store.repository.get(counter.id) for counter in counters]
        if round_number % 2:
            copies.append(store.repository.get(counters[round_number % 8].id))
        for index, copy in enumerate(copies):
            copy.poke(1 + (round_number + index) % 3)
        answers = grouped_race(store, copies)
        saves += len(copies)
        for counter in counters:
            mine = [a for a, c in zip(answers, copies, strict=True) if c.id == counter.id]
            won = [a for a in mine if isinstance(a, Saved)]
            assert len(won) == 1, mine
            assert all(isinstance(a, IntegrityError) for a in mine if a is not won[0]), mine
            (last,) = store.recorder.select_notifications(won[0].position, 1)
            assert (last.originator_id, last.originator_version) == (counter.id, won[0].version)
            assert store.repository.get(counter.id).version == won[0].version
    assert store.group_commit.groups - writes_before < saves, "no save ever shared a write"
    report = verify_chain(
        store.recorder.chain_rows(), store.recorder.orphan_links(), key=store.recorder.chain_key
    )
    assert report.ok, report
