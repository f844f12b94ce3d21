"""A job whose stored rows were damaged by hand: a snapshot that cannot be read is passed over
for the events; an event deleted is said, by the API and by an erasure of another
organisation, as what it is, never as a 500 or as an error that hides what was done."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from infrastructure.event_store import VersionsSkipped
from infrastructure.usecases.registrations import Registrations
from infrastructure.usecases.snapshots import fold_events
from projections.live.service import ReadModelService
from tests.api.conftest import BASE, Caller, api_settings, client, org_a, org_b  # noqa: F401
from tests.conftest import unique_org
from tests.integration.audit_kit import Cli, RawLog, cli, restoring  # noqa: F401
from tests.integration.test_snapshots import _restaurants, flip, long_job, replayed, state

DAMAGES = {
    "bytes changed": lambda state: state[:40] + bytes(b ^ 0x5A for b in state[40:48]) + state[48:],
    "cut short": lambda state: state[: len(state) // 2],
    "emptied": lambda state: b"",
}


RESTAURANTS = _restaurants()


def snapshots_table(app: Registrations) -> str:
    assert app.snapshots is not None
    return str(app.snapshots.recorder.events_table_name)


def damage_snapshot(app: Registrations, job_id: Any, damage: Any) -> int:
    """Damage the job's latest snapshot's stored bytes; its version."""
    raw, table = RawLog(app.settings, app), snapshots_table(app)
    key = raw.key(str(job_id))
    version, stored = raw.run(
        f"SELECT originator_version, state FROM {table} WHERE originator_id=?"
        " ORDER BY originator_version DESC LIMIT 1",
        (key,),
    )[0]
    raw.run(
        f"UPDATE {table} SET state=? WHERE originator_id=? AND originator_version=?",
        (damage(bytes(stored)), key, version),
    )
    return int(version)


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
def test_a_snapshot_that_cannot_be_read_is_passed_over_for_the_events(
    app: Registrations, damage: Any, caplog: pytest.LogCaptureFixture
) -> None:
    app.snapshot_every = 4
    job = long_job(app, 9)
    app.snapshot_every = 1000
    version = damage_snapshot(app, job.id, damage)
    try:
        with caplog.at_level(logging.WARNING, "regflow.storage"):
            loaded = app.job(job.id)
        assert state(loaded) == state(replayed(app, job))
        assert f"the snapshot of {job.id} at version {version} cannot be read" in caplog.text
        past = app.repository.get(job.id, version=version, projector_func=fold_events)
        assert past.version == version  # the reading of a past version passes it over too
        flip(app, job.id, 1)  # and the job takes commands
        assert app.job(job.id).version == job.version + 1
    finally:  # the database is shared: no other test meets the damaged snapshot
        raw = RawLog(app.settings, app)
        delete = f"DELETE FROM {snapshots_table(app)} WHERE originator_id=?"
        raw.run(delete, (raw.key(str(job.id)),))


async def test_the_api_says_a_job_whose_event_was_deleted_is_damaged_never_500(
    org_a: Caller,  # noqa: F811
    org_b: Caller,  # noqa: F811
    app: Registrations,
) -> None:
    """To its organisation; to another, the id names nothing, as an intact job's does."""
    caller = org_a
    batch = await caller.new_batch()
    job_id = batch["jobs"][0]["id"]
    for i in range(4):
        status, _ = await caller.patch(
            f"{BASE}/jobs/{job_id}/steps/6/sub-steps/cloudwaitressAccount",
            json={"status": ("failed", "skipped")[i % 2], "reason": "r"},
        )
        assert status == 200
    raw = RawLog(app.settings, app)
    with restoring(raw, job_id):
        raw.delete(job_id, 2)
        for method, path, body in [
            ("GET", f"{BASE}/jobs/{job_id}/state?version=3", None),
            (
                "PATCH",
                f"{BASE}/jobs/{job_id}/steps/6/sub-steps/cloudwaitressAccount",
                {"status": "failed", "reason": "r"},
            ),
        ]:
            status, answer = await caller.call(method, path, json=body)
            assert status == 503, (path, status, answer)
            assert answer["success"] is False
            assert job_id in answer["message"] and "out of sequence" in answer["message"]
            assert "regflow verify-log" in answer["message"]
            status, answer = await org_b.call(method, path, json=body)
            assert status == 404, (path, status, answer)
            assert "out of sequence" not in answer["message"]
        raw.delete(job_id, 1)  # its first event too: it shows no one that it is theirs
        status, answer = await org_b.get(f"{BASE}/jobs/{job_id}/state?version=3")
        assert status == 404, answer


async def test_the_api_says_a_job_whose_event_before_its_snapshot_was_deleted_is_damaged(
    org_a: Caller,  # noqa: F811
    app: Registrations,
) -> None:
    """The API loads a job from its latest snapshot: an event it was taken after, deleted, is
    said as the CLI says it (which checks the chain first), not edited past."""
    app.snapshot_every = 4
    _, [job, _], _ = app.create_batch(org_a.org, "user:u-1", "snap", RESTAURANTS)
    for i in range(9):
        flip(app, job.id, i)
    assert app.snapshots is not None
    assert list(app.snapshots.get(job.id, desc=True, limit=1))
    raw = RawLog(app.settings, app)
    path = f"{BASE}/jobs/{job.id}/steps/6/sub-steps/cloudwaitressAccount"
    with restoring(raw, str(job.id)):
        raw.delete(str(job.id), 2)
        status, answer = await org_a.patch(path, json={"status": "skipped", "reason": "r"})
        assert status == 503, answer
        assert str(job.id) in answer["message"] and "out of sequence" in answer["message"]
        assert len(list(app.events.get(job.id, gt=2))) == job.version + 9 - 2  # no event added


def test_an_erasure_stopped_by_another_jobs_damaged_log_says_what_it_did(
    cli: Cli,  # noqa: F811
    app: Registrations,
) -> None:
    erased, damaged = unique_org(), unique_org()
    app.create_batch(erased, "user:u-1", "to erase", [{"name": "A", "execution_config": {}}])
    _, [job], _ = app.create_batch(
        damaged, "user:u-1", "other", [{"name": "B", "execution_config": {}}]
    )
    for i in range(3):
        flip(app, job.id, i)
    with ReadModelService(app.settings, app) as views:
        views.catch_up()  # a running server's views had the event before it was deleted
    raw = RawLog(app.settings, app)
    with restoring(raw, str(job.id)):
        raw.delete(str(job.id), 2)
        with pytest.raises(VersionsSkipped):
            app.repository.get(job.id, projector_func=fold_events)
        run = cli("erase-organisation", erased, "--yes")
    assert run.code == 2, run
    said = " ".join(run.err.split())
    assert f"organisation {erased!r}: its data keys are destroyed and the erasure recorded" in said
    assert str(job.id) in said and "regflow verify-log" in said
    assert "run `regflow erase-organisation` again" in said
    assert "Traceback" not in run.err
    again = cli("erase-organisation", erased, "--yes")  # repaired: it scrubs them now
    assert again.code == 0, again
