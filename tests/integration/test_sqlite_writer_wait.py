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
from tests.integration.test_snapshots import long_job
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


def test_a_read_stores_its_snapshot_only_when_the_writer_is_free(tmp_path: Path) -> None:
    """A job read far past its snapshot is snapshotted as read, unless a write holds SQLite's
    one writer: then the read goes on without it, and a later read stores it."""
    with closing(Registrations(store_settings(f"sqlite:///{tmp_path / 'r.db'}"))) as app:
        app.snapshot_every = app.snapshot_after_reading = 10_000
        job = long_job(app, 12)
        app.snapshot_after_reading = 0
        assert app.snapshots is not None
        pool = app.factory.datastore.pool
        held, release = threading.Event(), threading.Event()
        waited_out: list[bool] = []

        def hold_the_writer() -> None:
            connection = pool.get_connection(is_writer=True)
            held.set()
            waited_out.append(not release.wait(HELD_SECONDS))
            pool.put_connection(connection)

        holder = threading.Thread(target=hold_the_writer)
        holder.start()
        held.wait()
        read = app.job(job.id)
        release.set()
        holder.join()
        assert waited_out == [False], "the read waited for the writer"
        assert read.version == job.version and not list(app.snapshots.get(job.id))
        app.job(job.id)
        assert [s.originator_version for s in app.snapshots.get(job.id)] == [job.version]
