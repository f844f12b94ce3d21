"""A save too large for a pooled connection's buffers to keep it goes on a connection of its own,
with the same guarantees: stored and chained in one transaction, a conflict still a conflict."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from infrastructure.chain.own_connection import OUTSIZED_BYTES, message_bytes
from infrastructure.chain.verify import verify_chain
from infrastructure.usecases.registrations import Registrations
from infrastructure.usecases.store import RegistrationStore
from tests.conftest import new_database, store_settings, unique_org

pytestmark = pytest.mark.postgres

NOTE_BYTES = 4096


class Notebook(Aggregate):
    """An aggregate whose events are as large as asked."""

    def note(self, times: int) -> None:
        for _ in range(times):
            self.trigger_event(self.Noted, text=os.urandom(NOTE_BYTES // 2).hex())

    class Noted(Aggregate.Event):
        text: str


OUTSIZED_NOTES = 2 * OUTSIZED_BYTES // NOTE_BYTES
# Restaurants without configuration: starting one records eight events (its sub-steps skipped),
# about 3.9 kB, so starting this many is one outsized save.
BATCH_JOBS = 150


@pytest.fixture(scope="module")
def pg_url(pg_url: str) -> Iterator[str]:
    """A database of these tests' own: they store aggregates the product does not know, whose
    events a server started later on the shared test log could not read."""
    with new_database("regflow_outsized") as (_, url):
        yield url


@pytest.fixture
def store(pg_url: str) -> Iterator[RegistrationStore]:
    opened = RegistrationStore(store_settings(pg_url), sleep=lambda _: None)
    yield opened
    opened.close()


def pooled_requests(store: RegistrationStore) -> int:
    return int(store.recorder.datastore.pool.get_stats().get("requests_num", 0))


def saved_requests(store: RegistrationStore, notebook: Notebook) -> int:
    """How many connections the pool handed out while `notebook` was saved."""
    before = pooled_requests(store)
    store.save(notebook)
    return pooled_requests(store) - before


def test_an_outsized_save_takes_no_pooled_connection(store: RegistrationStore) -> None:
    notebook = Notebook()
    notebook.note(1)
    assert saved_requests(store, notebook) == 1
    notebook.note(OUTSIZED_NOTES)
    assert saved_requests(store, notebook) == 0


def test_an_outsized_save_is_stored_chained_and_positioned(store: RegistrationStore) -> None:
    notebook = Notebook()
    notebook.note(OUTSIZED_NOTES)
    saved = store.store(notebook)
    assert store.repository.get(notebook.id).version == notebook.version == saved.version
    (last,) = store.recorder.select_notifications(saved.position, 1)
    assert (last.originator_id, last.originator_version) == (notebook.id, saved.version)
    report = verify_chain(
        store.recorder.chain_rows(), store.recorder.orphan_links(), key=store.recorder.chain_key
    )
    assert report.ok, report


def test_an_outsized_save_of_a_stale_version_is_a_conflict(store: RegistrationStore) -> None:
    notebook = Notebook()
    store.save(notebook)
    stale = store.repository.get(notebook.id)
    notebook.note(1)
    store.save(notebook)
    stale.note(OUTSIZED_NOTES)
    with pytest.raises(IntegrityError):
        store.save(stale)
    assert store.repository.get(notebook.id).version == notebook.version


def bare_restaurants(n: int) -> list[dict[str, Any]]:
    return [{"name": f"Bare {i}", "execution_config": {}} for i in range(n)]


def test_racing_starts_of_a_batch_saved_outsized_start_each_job_once(pg_url: str) -> None:
    settings = store_settings(pg_url, worker_id=f"test-worker-{uuid.uuid4().hex[:6]}")
    with closing(Registrations(settings)) as app:
        org = unique_org()
        batch, jobs, _ = app.create_batch(org, "user:u-1", "large", bare_restaurants(BATCH_JOBS))
        before = app.recorder.max_notification_id() or 0
        gate = threading.Barrier(2)
        outcomes: list[Any] = []

        def start() -> None:
            gate.wait()
            outcomes.append(app.start_step6(org, batch.id, None, "user:u"))

        starters = [threading.Thread(target=start) for _ in range(2)]
        for starter in starters:
            starter.start()
        for starter in starters:
            starter.join()
        started = [job for outcome in outcomes for job in outcome.started]
        assert sorted(started) == sorted(str(j.id) for j in jobs)
        stored = app.recorder.select_notifications(before, 10 * BATCH_JOBS)
        assert message_bytes([n for n in stored if n.id > before]) >= OUTSIZED_BYTES
        report = verify_chain(
            app.recorder.chain_rows(), app.recorder.orphan_links(), key=app.recorder.chain_key
        )
        assert report.ok, report
