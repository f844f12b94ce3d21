"""Jobs read together equal jobs read one by one, on SQLite and PostgreSQL; starting a batch
with them keeps its guarantees (one start per job, a lost race reloaded, not repeated)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.exceptions import JobNotFound
from domain.job import RegistrationJob
from infrastructure.settings import Settings
from infrastructure.usecases.bulk import load_many
from infrastructure.usecases.registrations import Registrations
from infrastructure.usecases.snapshots import fold_events
from tests.conftest import unique_org
from tests.integration.test_application import _restaurants

EVERY = 10


def state(job: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(job).items() if k != "_pending_events"}


@pytest.fixture
def assorted(app: Registrations) -> list[str]:
    """Jobs of two organisations and two batches: pending, started, finished, edited, and one
    long enough to have snapshots (with events after the latest)."""
    app.snapshot_every = EVERY
    org, other = unique_org(), unique_org()
    batch, jobs, _ = app.create_batch(org, "user:u-1", "mixed", _restaurants(4))
    _, foreign, _ = app.create_batch(other, "user:u-2", "other", _restaurants(1))
    app.start_step6(org, batch.id, [str(jobs[1].id), str(jobs[2].id)], "user:u")
    finished = app.job(jobs[2].id)
    finished.claim("worker-1")
    while ready := finished.runnable():
        for key in ready:
            finished.start_sub_step(key)
            finished.complete_sub_step(key, {"codeInjectionId": "ci-1"})
    finished.finish()
    app.store(finished)
    for i in range(2 * EVERY + 3):
        target = ("failed", "skipped")[i % 2]
        app.edit(None, jobs[3].id, [("cloudwaitressAccount", target, None)], "user:u", "edit")
    assert app.snapshots is not None and list(app.snapshots.get(jobs[3].id))
    return [str(j.id) for j in (*jobs, *foreign)]


class TestBulkLoad:
    def test_every_job_reads_as_it_does_alone(
        self, app: Registrations, assorted: list[str]
    ) -> None:
        together = app.jobs(assorted)
        assert [str(j.id) for j in together] == assorted
        assert [state(j) for j in together] == [state(app.job(j)) for j in assorted]

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def test_any_selection_in_any_order_with_repeats(
        self, app: Registrations, assorted: list[str], data: st.DataObject
    ) -> None:
        chosen = data.draw(st.lists(st.sampled_from(assorted), max_size=12))
        ids = [uuid.UUID(j) for j in chosen]
        found = load_many(app, ids, fold_events)
        assert set(found) == set(ids)
        assert all(state(found[i]) == state(app.job(i)) for i in ids)

    @pytest.mark.parametrize("missing", ["uuid", "malformed", "batch"])
    def test_the_first_missing_job_is_named(
        self, app: Registrations, assorted: list[str], missing: str
    ) -> None:
        batch, _, _ = app.create_batch(unique_org(), "user:u-1", "b", _restaurants(1))
        stranger = {"uuid": str(uuid.uuid4()), "malformed": "not-an-id", "batch": str(batch.id)}
        with pytest.raises(JobNotFound) as raised:
            app.jobs([assorted[0], stranger[missing], assorted[1]])
        assert stranger[missing] in str(raised.value)

    def test_a_job_loaded_together_takes_further_commands(
        self, app: Registrations, assorted: list[str]
    ) -> None:
        [long] = app.jobs([assorted[3]])
        assert isinstance(long, RegistrationJob) and long.version > 2 * EVERY
        long.cancel("user:u", "enough")
        app.store(long)
        assert app.job(long.id).status == "cancelled"


class TestStartsWithBulkLoads:
    def test_a_start_that_loses_the_race_reloads_and_reports_already_started(
        self, app: Registrations
    ) -> None:
        org = unique_org()
        batch, jobs, _ = app.create_batch(org, "user:u-1", "race", _restaurants(3))
        real_jobs, rounds = app.jobs, []

        def jobs_then_a_rival_starts_one(job_ids: list[str]) -> list[RegistrationJob]:
            loaded = real_jobs(job_ids)
            rounds.append(len(loaded))
            if len(rounds) == 1:
                rival = app.job(jobs[0].id)
                rival.start_step6("user:rival")
                app.store(rival)
            return loaded

        app.jobs = jobs_then_a_rival_starts_one  # type: ignore[method-assign]
        outcome = app.start_step6(org, batch.id, None, "user:u-1")
        assert rounds == [3, 3]
        assert outcome.already_started == [str(jobs[0].id)]
        assert sorted(outcome.started) == sorted(str(j.id) for j in jobs[1:])
        for job in jobs:
            names = [type(e).__name__ for e in app.events.get(job.id)]
            assert names.count("Step6Started") == 1

    def test_concurrent_starts_start_each_job_once(
        self, app: Registrations, settings: Settings
    ) -> None:
        org = unique_org()
        batch, jobs, _ = app.create_batch(org, "user:u-1", "race", _restaurants(6))
        stores = [app, *(Registrations(settings) for _ in range(3))]
        ids = [str(j.id) for j in jobs]
        selections: list[list[str] | None] = [None, ids[:4], ids[2:], None]
        barrier, outcomes = threading.Barrier(len(stores)), []

        def start(store: Registrations, selection: list[str] | None) -> None:
            barrier.wait(timeout=10)
            outcomes.append((selection, store.start_step6(org, batch.id, selection, "user:u-1")))

        threads = [
            threading.Thread(target=start, args=(s, sel))
            for s, sel in zip(stores, selections, strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        for store in stores[1:]:
            store.close()
        assert len(outcomes) == len(stores)
        started = [j for _, o in outcomes for j in o.started]
        assert sorted(started) == sorted(ids)
        for selection, outcome in outcomes:
            assert sorted(outcome.started + outcome.already_started) == sorted(selection or ids)
        for job_id in ids:
            names = [type(e).__name__ for e in app.events.get(uuid.UUID(job_id))]
            assert names.count("Step6Started") == 1
