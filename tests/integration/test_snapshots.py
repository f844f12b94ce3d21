"""Long jobs are snapshotted with the library's take_snapshot and load equal to a full replay."""

from __future__ import annotations

import contextlib
from typing import Any

import hypothesis
import pytest
from eventsourcing.persistence import IntegrityError, OperationalError
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from domain.exceptions import RegflowError
from domain.job import RegistrationJob
from domain.status import JobStatus
from infrastructure.chain.sqlite import SQLiteSnapshots
from infrastructure.pg_reads import SnapshotRows
from infrastructure.settings import Settings
from infrastructure.usecases.erasure import erase_organisation, erasure_plan
from infrastructure.usecases.registrations import Registrations
from infrastructure.usecases.snapshots import CountingFold
from tests.conftest import unique_org
from tests.integration.test_application import PASSWORD, _raw_bytes, _restaurants
from tests.integration.test_erasure import stored_snapshot_text

EVERY = 10
SNAPSHOT_RECORDERS = (SnapshotRows, SQLiteSnapshots)


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


def connection_lost(*_: Any, **__: Any) -> None:
    """A storage call whose connection dropped."""
    raise OperationalError("the connection was lost")


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


def folded_after_snapshot(app: Registrations, job_id: Any) -> int:
    """How many events a read of the job folds after the snapshot it starts from."""
    fold = CountingFold()
    app.repository.get(job_id, projector_func=fold)
    return fold.events


@hypothesis.settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    threshold=st.integers(min_value=0, max_value=6),
    targets=st.lists(st.sampled_from(["failed", "skipped", "pending", "completed"]), max_size=25),
)
def test_a_job_read_far_behind_its_snapshot_is_snapshotted_as_read(
    app: Registrations, threshold: int, targets: list[str]
) -> None:
    """Whatever the edits, a read folds at most `threshold` events plus what the last command
    added, and the snapshots taken as read load equal to a full replay."""
    app.snapshot_every = 10_000
    app.snapshot_after_reading = threshold
    _, [job, _], _ = app.create_batch(unique_org(), "user:u-1", "snap", _restaurants())
    most_added = 1
    for target in targets:
        before = app.job(job.id).version
        with contextlib.suppress(RegflowError):  # a refused edit is recorded: one more event
            app.edit(None, job.id, [("cloudwaitressAccount", target, None)], "user:u-1", "snap")
        most_added = max(most_added, app.job(job.id).version - before)
    assert folded_after_snapshot(app, job.id) <= threshold + most_added
    loaded = app.job(job.id)
    assert state(loaded) == state(replayed(app, loaded))
    assert app.snapshots is not None
    for snapshot in app.snapshots.get(job.id):
        assert state(app.repository.get(job.id, version=snapshot.originator_version)) == state(
            replayed_to(app, job.id, snapshot.originator_version)
        )


def replayed_to(app: Registrations, job_id: Any, version: int) -> Any:
    folded: Any = None
    for event in app.events.get(job_id, lte=version):
        folded = event.mutate(folded)
    return folded


def test_a_job_read_close_to_its_snapshot_is_not_snapshotted_again(app: Registrations) -> None:
    app.snapshot_every = 10_000
    app.snapshot_after_reading = 10_000
    job = long_job(app, 12)
    assert app.snapshots is not None and not list(app.snapshots.get(job.id))
    app.snapshot_after_reading = folded_after_snapshot(app, job.id)
    app.job(job.id)
    assert not list(app.snapshots.get(job.id))
    app.snapshot_after_reading -= 1
    app.job(job.id)
    assert [s.originator_version for s in app.snapshots.get(job.id)] == [job.version]
    assert folded_after_snapshot(app, job.id) == 0


def test_readers_racing_to_snapshot_one_version_store_it_once(app: Registrations) -> None:
    app.snapshot_every = 10_000
    app.snapshot_after_reading = 10_000
    job = long_job(app, 12)
    app.snapshot_after_reading = 0
    first, second = app.job(job.id), app.job(job.id)  # the second read starts from the first's
    app._snapshot_as_read(first)
    app._snapshot_as_read(second)
    assert app.snapshots is not None
    assert [s.originator_version for s in app.snapshots.get(job.id)] == [job.version]


def test_a_snapshot_that_cannot_be_stored_costs_the_read_nothing(
    app: Registrations, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.snapshot_every = 10_000
    app.snapshot_after_reading = 10_000
    job = long_job(app, 12)
    app.snapshot_after_reading = 0
    assert app.snapshots is not None

    monkeypatch.setattr(app.snapshots, "put", connection_lost)
    loaded = app.job(job.id)
    assert state(loaded) == state(replayed(app, job))
    app.edit(None, job.id, [("cloudwaitressAccount", "pending", None)], "user:u-1", "snap")


def test_an_erased_job_snapshotted_as_read_holds_nothing_erased(app: Registrations) -> None:
    app.snapshot_every = 10_000
    app.snapshot_after_reading = 10_000
    job = long_job(app, 12)
    erase_organisation(app, erasure_plan(app, job.organisation_id, 1, 1), "user:dpo")
    app.snapshot_after_reading = 0
    loaded = app.job(job.id)
    assert app.snapshots is not None and list(app.snapshots.get(job.id))
    assert PASSWORD not in stored_snapshot_text(app, str(job.id))
    assert state(app.job(job.id)) == state(loaded) == state(replayed(app, job))


def stored_versions(app: Registrations, job_id: Any) -> list[int]:
    """The versions of the job's snapshots as stored, oldest first."""
    assert app.snapshots is not None
    return [row.originator_version for row in app.snapshots.recorder.select_events(job_id)]


@hypothesis.settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    every=st.integers(min_value=1, max_value=6),
    after_reading=st.integers(min_value=0, max_value=6),
    steps=st.lists(
        st.one_of(st.sampled_from(["failed", "skipped", "pending", "completed"]), st.just("read")),
        max_size=25,
    ),
)
def test_a_job_keeps_only_its_latest_snapshot(
    app: Registrations, every: int, after_reading: int, steps: list[str]
) -> None:
    """Whatever mix of edits (snapshotted as saved) and reads (snapshotted as read), a job holds
    one snapshot at most, the latest taken, and it and every past version load as replayed."""
    app.snapshot_every, app.snapshot_after_reading = every, after_reading
    _, [job, other], _ = app.create_batch(unique_org(), "user:u-1", "snap", _restaurants())
    for step in steps:
        if step == "read":
            app.job(job.id)
            continue
        with contextlib.suppress(RegflowError):
            app.edit(None, job.id, [("cloudwaitressAccount", step, None)], "user:u-1", "snap")
        assert len(stored_versions(app, job.id)) <= 1
    kept = stored_versions(app, job.id)
    assert len(kept) <= 1 and len(stored_versions(app, other.id)) <= 1
    latest = app.job(job.id).version
    if latest >= every:
        assert kept and kept[0] > latest - max(every, after_reading + 2)
    for version in range(1, latest + 1):
        assert state(app.repository.get(job.id, version=version)) == state(
            replayed_to(app, job.id, version)
        )


def flip(app: Registrations, job_id: Any, i: int) -> None:
    """One accepted edit: the account sub-step to failed, then skipped, and so on."""
    target = ("failed", "skipped")[i % 2]
    app.edit(None, job_id, [("cloudwaitressAccount", target, None)], "user:u-1", "snap")


def test_pruning_touches_no_other_job(app: Registrations) -> None:
    app.snapshot_every = 10_000
    app.snapshot_after_reading = 0
    first, second = long_job(app, 4), long_job(app, 4)
    app.job(first.id), app.job(second.id)
    kept = stored_versions(app, second.id)
    for i in range(3):
        flip(app, first.id, i)
        app.job(first.id)
    assert stored_versions(app, first.id) == [app.job(first.id).version]
    assert stored_versions(app, second.id) == kept != []


def test_a_snapshot_that_cannot_be_stored_deletes_none_before_it(app: Registrations) -> None:
    """The insert and the delete are one statement: a snapshot refused (another reader stored
    that version first) takes none of the job's snapshots with it."""
    app.snapshot_every = 10_000
    app.snapshot_after_reading = 0
    job = long_job(app, 3)
    app.job(job.id)
    kept = stored_versions(app, job.id)
    flip(app, job.id, 1)  # the job was left failed
    read = app.job(job.id)
    assert app.snapshots is not None
    with pytest.raises(IntegrityError):
        app.snapshots.put([RegistrationJob.Snapshot.take(read)])
    assert stored_versions(app, job.id) == [read.version] != kept
    flip(app, job.id, 2)
    loaded = app.job(job.id)
    assert stored_versions(app, job.id) == [loaded.version]
    assert state(loaded) == state(replayed(app, job))


def test_a_slow_readers_older_snapshot_goes_with_the_next_one(app: Registrations) -> None:
    """A reader that stores an older version after a newer one was stored leaves one extra
    snapshot, which the next snapshot of the job deletes."""
    app.snapshot_every = 10_000
    app.snapshot_after_reading = 10_000
    job = long_job(app, 3)
    slow = app.job(job.id)
    flip(app, job.id, 1)
    app.snapshot_after_reading = 0
    newer = app.job(job.id).version
    app._snapshot_as_read(slow)
    assert stored_versions(app, job.id) == [slow.version, newer]
    flip(app, job.id, 2)
    latest = app.job(job.id).version  # snapshotted as read
    assert stored_versions(app, job.id) == [latest]


def test_only_the_snapshots_recorder_deletes_as_it_inserts(app: Registrations) -> None:
    assert app.snapshots is not None
    assert isinstance(app.snapshots.recorder, SNAPSHOT_RECORDERS)
    assert not isinstance(app.recorder, SNAPSHOT_RECORDERS)
