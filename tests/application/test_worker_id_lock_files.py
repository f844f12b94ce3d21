"""On SQLite a worker id is a lock on a file beside the store: a lock file removed or replaced
under a live holder must not let a second live process hold the same id."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pytest

from infrastructure.engine.identity import WorkerIdTaken, hold_another, hold_worker_id
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import running_engine, simulator, start_batch
from tests.conftest import store_settings
from tests.kit import eventually, restaurants


def lock_files(settings: Settings) -> set[Path]:
    return set(Path(settings.sqlite_path).parent.glob("*-worker-*.lock"))


def test_a_lock_file_replaced_under_its_holder_is_held_by_its_new_locker_only(
    sqlite_url: str,
) -> None:
    settings = store_settings(sqlite_url, worker_id="w-file")
    first = hold_worker_id(settings)
    for lock in lock_files(settings):
        lock.unlink()
    second = hold_worker_id(settings)
    try:
        assert second.worker_id == first.worker_id
        assert not first.holds(), "the id is the second process's now"
        assert not first.holds(), "however many times it asks"
    finally:
        second.release()
    assert first.holds(), "freed, the id is taken again"
    first.release()


def test_a_lock_file_removed_under_its_holder_is_made_again_by_it(sqlite_url: str) -> None:
    settings = store_settings(sqlite_url, worker_id="w-file")
    first = hold_worker_id(settings)
    for lock in lock_files(settings):
        lock.unlink()
    assert first.holds()
    assert lock_files(settings), "the lock file is there again"
    with pytest.raises(WorkerIdTaken):
        hold_worker_id(settings)
    first.release()


def test_a_derived_id_lost_is_traded_for_the_first_free_one(sqlite_url: str) -> None:
    derived = store_settings(sqlite_url)
    first = hold_worker_id(derived)
    (first_file,) = lock_files(derived)
    second = hold_worker_id(derived)
    first_file.unlink()
    newcomer = hold_worker_id(derived)
    assert newcomer.worker_id == first.worker_id and not first.holds()
    traded = hold_another(derived, first)
    held = [traded, second, newcomer]
    try:
        assert len({h.worker_id for h in held}) == 3 and all(h.holds() for h in held)
        assert traded.derived and traded.incarnation != first.incarnation
    finally:
        for holder in held:
            holder.release()


async def test_an_engine_whose_lock_file_another_process_took_trades_its_derived_id(
    sqlite_url: str,
) -> None:
    settings = store_settings(sqlite_url, lease_seconds=1.5)
    with closing(Registrations(settings)) as app:
        async with simulator() as (_, url), running_engine(app, settings, url) as victim:
            lost = victim.worker_id
            for lock in lock_files(settings):
                lock.unlink()
            async with running_engine(app, settings, url) as newcomer:
                assert newcomer.worker_id == lost
                await eventually(
                    lambda: victim.health()["worker_id_held"] and victim.worker_id != lost,
                    timeout=5,
                )
                job_ids = start_batch(app, restaurants(3))
                await eventually(lambda: {str(app.job(j).status) for j in job_ids} == {"completed"})
