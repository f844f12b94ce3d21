"""Saves racing for one job version on PostgreSQL: each loser sees a conflict, not an outage."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from infrastructure.chain.verify import verify_chain
from infrastructure.usecases.store import RegistrationStore
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
