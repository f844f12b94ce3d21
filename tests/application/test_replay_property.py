"""Property: replaying the stored log of any legal command sequence gives the live job."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.exceptions import RegflowError
from domain.job import RegistrationJob
from domain.plan import PLAN
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.unit.jobs import new_job

_STORE = Registrations(
    Settings(
        _env_file=None,
        database_url=f"sqlite:///{Path(tempfile.mkdtemp()) / 'property.db'}",
        secret_key="property-test",
    )
)
TARGETS = ("completed", "failed", "skipped", "pending")


def _actions(job: RegistrationJob) -> list[list[Callable[[], Any]]]:
    """Commands to choose from, grouped so that rare ones are drawn as often as edits."""
    groups: list[list[Callable[[], Any]]] = [
        [lambda: job.start_step6("user:u-1"), lambda: job.claim("worker-1"), job.finish],
        [lambda: job.cancel("user:u-1", "property"), lambda: job.resume("user:u-1")],
        [lambda k=k: job.start_sub_step(k) for k in job.runnable()],
        [lambda k=k: job.retry_now(k, "user:u-1") for k in job.waiting_to_retry()],
        [
            lambda k=k, t=t: job.edit([(k, t, {"note": t})], "user:u-1", "property edit")
            for k in PLAN.keys
            for t in TARGETS
        ],
    ]
    for key in job.in_flight():
        groups.append(
            [
                lambda k=key: job.complete_sub_step(k, {"codeInjectionId": f"ci-{k}"}),
                lambda k=key: job.fail_sub_step(k, "HTTP 400", transient=False),
                lambda k=key: job.schedule_retry(k, "HTTP 503", delay=1.5),
            ]
        )
    return [g for g in groups if g]


def _chosen(job: RegistrationJob, choice: int) -> Callable[[], Any]:
    """The command `choice` picks: first a group, then a command of that group."""
    groups = _actions(job)
    group = groups[choice % len(groups)]
    return group[(choice // len(groups)) % len(group)]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=80))
def test_replayed_log_equals_the_live_job(choices: list[int]) -> None:
    job = new_job()
    for choice in choices:
        try:
            _chosen(job, choice)()
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
        with contextlib.suppress(RegflowError):
            _chosen(job, choice)()
        _SNAPSHOTTING.store(job)
    loaded = _SNAPSHOTTING.repository.get(job.id)
    assert _state(loaded) == _state(job)
    assert loaded.context == job.context
