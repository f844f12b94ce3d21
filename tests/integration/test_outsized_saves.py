"""A save too large for a pooled connection's buffers to keep it goes on a connection of its own,
with the same guarantees: stored and chained in one transaction, a conflict still a conflict."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from infrastructure.chain.own_connection import OUTSIZED_BYTES
from infrastructure.chain.verify import verify_chain
from infrastructure.usecases.store import RegistrationStore
from tests.conftest import store_settings

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
