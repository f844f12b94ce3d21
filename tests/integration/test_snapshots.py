"""Long jobs are snapshotted with the library's take_snapshot and load equal to a full replay."""

from __future__ import annotations

from typing import Any

from domain.job import RegistrationJob
from domain.status import JobStatus
from infrastructure.settings import Settings
from infrastructure.usecases.erasure import erase_organisation, erasure_plan
from infrastructure.usecases.registrations import Registrations
from tests.conftest import unique_org
from tests.integration.test_application import PASSWORD, _raw_bytes, _restaurants

EVERY = 10


def long_job(app: Registrations, edits: int) -> RegistrationJob:
    """A job edited back and forth `edits` times through the use-case layer."""
    _, [job, _], _ = app.create_batch(unique_org(), "user:u-1", "snap", _restaurants())
    for i in range(edits):
        target = ("failed", "skipped")[i % 2]
        app.edit(None, job.id, [("cloudwaitressAccount", target, None)], "user:u-1", "snap")
    return app.job(job.id)


def replayed(app: Registrations, job: RegistrationJob) -> Any:
    folded: Any = None
    for event in app.events.get(job.id):
        folded = event.mutate(folded)
    return folded


def state(job: Any) -> dict[str, Any]:
    return {k: v for k, v in vars(job).items() if k != "_pending_events"}


def test_a_long_job_loads_from_its_snapshot_equal_to_its_full_replay(app: Registrations) -> None:
    app.snapshot_every = EVERY
    job = long_job(app, 12)
    assert app.snapshots is not None
    taken = [s.originator_version for s in app.snapshots.get(job.id)]
    assert taken and all(v % EVERY == 0 for v in taken) and max(taken) > job.version - EVERY
    loaded = app.job(job.id)
    assert state(loaded) == state(replayed(app, job))
    assert loaded.shown_statuses() == job.shown_statuses() and loaded.context == job.context


def test_a_job_loaded_from_a_snapshot_takes_further_commands(app: Registrations) -> None:
    app.snapshot_every = EVERY
    job = long_job(app, 8)
    app.start_step6(None, job.batch_id, [str(job.id)], "user:u-1")
    assert app.job(job.id).status == JobStatus.IN_PROGRESS
    assert state(app.job(job.id)) == state(replayed(app, job))


def test_snapshots_are_encrypted_like_events(app: Registrations, settings: Settings) -> None:
    app.snapshot_every = 2
    long_job(app, 3)
    assert PASSWORD.encode() not in _raw_bytes(settings)


def test_an_erased_organisations_job_loads_erased_like_its_replay(app: Registrations) -> None:
    app.snapshot_every = 5
    job = long_job(app, 8)
    assert app.snapshots is not None and list(app.snapshots.get(job.id))
    assert app.job(job.id).execution_config["account"]["password"] == PASSWORD
    erase_organisation(app, erasure_plan(app, job.organisation_id, 1, 1), "user:dpo")
    loaded = app.job(job.id)
    assert PASSWORD not in str(vars(loaded))
    assert state(loaded) == state(replayed(app, job))
