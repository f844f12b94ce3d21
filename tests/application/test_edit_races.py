"""Edits of one job racing each other, in one process and in two: a refusal is recorded only
against the version that refused it, and every refusal is recorded."""

from __future__ import annotations

import itertools
from contextlib import closing
from typing import Any
from uuid import UUID

import pytest

from domain.exceptions import JobConflict, RegflowError
from domain.job import RegistrationJob
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.conftest import unique_org
from tests.kit import at_once, restaurants

KEY = "restaurantRegistration"


def stopped_job(app: Registrations) -> tuple[str, str]:
    """(organisation, job) of a job whose Step 6 was started and cancelled: editable."""
    org = unique_org()
    batch, [job], _ = app.create_batch(org, "user:test", "races", restaurants(1))
    app.start_step6(org, batch.id, None, "user:test")
    app.cancel(org, job.id, "user:test", "stopped to be repaired")
    return org, str(job.id)


def mark(app: Registrations, org: str, job: str, status: str, reason: str) -> str:
    """Mark KEY `status`; what the caller was told: "made", "refused" or "conflict"."""
    try:
        app.edit(org, job, [(KEY, status, None)], "user:test", reason)
    except JobConflict:
        return "conflict"
    except RegflowError:
        return "refused"
    return "made"


def refusals_hold_where_recorded(app: Registrations, job: str) -> int:
    """Check each EditRefused against the job as it stood just before it: the same edit is
    refused there with the same errors. Returns how many there were."""
    events = list(app.events.get(UUID(job)))
    refused = [e for e in events if type(e).__name__ == "EditRefused"]
    for event in refused:
        before: RegistrationJob = app.repository.get(
            UUID(job), version=event.originator_version - 1
        )
        [update] = event.edit["updates"]
        with pytest.raises(RegflowError) as told:
            before.edit([(update["sub_step"], update["status"], None)], "user:test", "again")
        assert told.value.errors == event.errors, event.originator_version
    return len(refused)


def test_a_refusal_checked_on_a_version_another_writer_changed_is_checked_again(
    app: Registrations, settings: Settings
) -> None:
    org, job = stopped_job(app)
    app.edit(org, job, [(KEY, "skipped", None)], "user:test", "first")
    with closing(Registrations(settings)) as other:
        load = app.job
        raced = []

        def load_then_race(*args: Any, **kwargs: Any) -> RegistrationJob:
            loaded = load(*args, **kwargs)
            if not raced:  # the other process changes the job after this load
                raced.append(mark(other, org, job, "failed", "the other"))
            return loaded

        app.job = load_then_race  # type: ignore[method-assign]
        # Checked on the version loaded, this mark is refused (already skipped); by the time
        # its refusal is stored, the other process has marked it failed: it is made instead.
        told = mark(app, org, job, "skipped", "this one")
    assert raced == ["made"] and told == "made"
    events = [type(e).__name__ for e in app.events.get(UUID(job))]
    assert "EditRefused" not in events
    assert app.job(job).sub_steps[KEY].status == "skipped"


@pytest.mark.parametrize("processes", [1, 2])
def test_racing_marks_record_only_refusals_true_where_they_stand(
    app: Registrations, settings: Settings, processes: int
) -> None:
    org, job = stopped_job(app)
    with closing(Registrations(settings)) as other:
        apps = [app, other][:processes]
        pairs = zip(itertools.cycle(apps), itertools.cycle(["skipped", "failed"]))
        marks = [
            lambda a=a, s=s, i=i: mark(a, org, job, s, f"race {i}")
            for i, (a, s) in enumerate(itertools.islice(pairs, 16))
        ]
        told = at_once(*marks)
    assert len(told) == 16
    assert refusals_hold_where_recorded(app, job) == told.count("refused") + told.count("conflict")
