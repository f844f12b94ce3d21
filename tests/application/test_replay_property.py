"""Property: replaying the stored log of any legal command sequence gives the live job."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.exceptions import RegflowError
from domain.job import RegistrationJob
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.unit.jobs import chosen_command, new_job, try_chosen_command

_STORE = Registrations(
    Settings(
        _env_file=None,
        database_url=f"sqlite:///{Path(tempfile.mkdtemp()) / 'property.db'}",
        secret_key="property-test",
    )
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=80))
def test_replayed_log_equals_the_live_job(choices: list[int]) -> None:
    job = new_job()
    for choice in choices:
        try:
            chosen_command(job, choice)()
        except RegflowError:
            assert not [e for e in job.pending_events if e.originator_version > job.version]
        _STORE.store(job)
    replayed = _STORE.repository.get(job.id)
    assert _state(replayed) == _state(job)
    assert replayed.context == job.context
    assert replayed.shown_statuses() == job.shown_statuses()


def _state(job: RegistrationJob) -> dict[str, Any]:
    return {k: v for k, v in vars(job).items() if k != "_pending_events"}


class _EveryFewEvents(Registrations):
    snapshot_every = 3


_SNAPSHOTTING = _EveryFewEvents(_STORE.settings)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=60))
def test_a_job_loaded_from_snapshots_equals_the_live_job(choices: list[int]) -> None:
    job = new_job()
    for choice in choices:
        try_chosen_command(job, choice)
        _SNAPSHOTTING.store(job)
    loaded = _SNAPSHOTTING.repository.get(job.id)
    assert _state(loaded) == _state(job)
    assert loaded.context == job.context
