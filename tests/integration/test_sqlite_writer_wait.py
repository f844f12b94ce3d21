"""On SQLite a write waits for the one writer as long as SQLite waits for its lock, and a read
queued behind it is served: a burst of writes is slow, not "storage unavailable"."""

from __future__ import annotations

import logging
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from infrastructure.usecases.registrations import Registrations
from tests.conftest import store_settings
from tests.kit import restaurants

pytestmark = pytest.mark.slow

HELD_SECONDS = 6.0  # longer than the library's own wait for a pooled connection (5 s)


def test_writes_and_a_read_wait_out_a_writer_held_longer_than_the_pools_default(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with closing(Registrations(store_settings(f"sqlite:///{tmp_path / 'r.db'}"))) as app:
        _, jobs, _ = app.create_batch("org-a", "user:test", "first", restaurants(1))
        pool = app.factory.datastore.pool
        assert pool.pool_timeout == pool.lock_timeout == 10
        outcomes: dict[str, object] = {}
        held = threading.Event()

        def hold_the_writer() -> None:
            connection = pool.get_connection(is_writer=True)
            held.set()
            time.sleep(HELD_SECONDS)
            pool.put_connection(connection)

        def write(name: str) -> None:
            try:
                app.create_batch("org-a", "user:test", name, restaurants(1))
                outcomes[name] = "stored"
            except Exception as exc:  # noqa: BLE001 - any failure is the finding
                outcomes[name] = exc

        holder = threading.Thread(target=hold_the_writer)
        holder.start()
        held.wait()
        writers = [threading.Thread(target=write, args=(f"waiting {n}",)) for n in range(2)]
        for writer in writers:
            writer.start()
            time.sleep(0.2)
        with caplog.at_level(logging.INFO, logger="regflow.storage"):
            read = app.job(jobs[0].id)
            for thread in (holder, *writers):
                thread.join()
        assert read.id == jobs[0].id
        assert outcomes == {"waiting 0": "stored", "waiting 1": "stored"}
        assert not [r for r in caplog.records if "retrying" in r.getMessage()]
