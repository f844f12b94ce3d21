"""A job that is not running, with calls in flight: while the worker that made them holds the
job's lease, an edit that would change one of them is refused (409), as it always was; once
that lease has expired, the calls are orphaned, and an edit is judged as it would be after a
worker recorded them interrupted: the edit records the interruption first, once, then itself,
and an outcome of those calls that comes later is refused (SPEC section 6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given as given_data
from hypothesis import settings
from hypothesis import strategies as st

from domain.exceptions import IllegalTransition, RegflowError, SubStepInFlight
from domain.job import RegistrationJob
from domain.job_lease import NO_LEASE, LeaseSeen
from domain.plan import PLAN
from tests.unit.jobs import (
    EDITS,
    cancel_with_calls_in_flight,
    running_job,
    touches_in_flight,
)

REASON = "done by hand"
WORKER = "worker-1"  # the worker `running_job` claims the job for
SEEN = datetime(2026, 1, 1, tzinfo=UTC)
SECONDS = st.floats(min_value=0.001, max_value=3600)
LIVE = st.builds(lambda s: LeaseSeen(WORKER, SEEN + timedelta(seconds=s), SEEN), SECONDS)
EXPIRED = st.one_of(
    st.builds(lambda s: LeaseSeen(WORKER, SEEN - timedelta(seconds=s), SEEN), SECONDS),
    st.builds(lambda s: LeaseSeen("worker-2", SEEN + timedelta(seconds=s), SEEN), SECONDS),
    st.just(NO_LEASE),
)


def stopped_with_calls_in_flight(data: st.DataObject) -> list[Any]:
    """The events of a job run a little way (after a first run that failed and a resume, or
    not), each ready sub-step completed, failed, or left in flight, then cancelled with at
    least one call in flight."""
    job = running_job()
    if data.draw(st.booleans(), label="an earlier run failed"):
        job.start_sub_step("cloudwaitressAccount")
        job.fail_sub_step("cloudwaitressAccount", "HTTP 400", transient=False)
        for key in job.runnable():
            job.start_sub_step(key)
            job.complete_sub_step(key, {"codeInjectionId": "ci-1"})
        job.finish()
        job.resume("user:u-1")
        job.claim(WORKER)
    cancel_with_calls_in_flight(job, data)
    return list(job.collect_events())


def loaded(events: list[Any]) -> RegistrationJob:
    """The job as a store would load it from `events`: nothing pending."""
    job: Any = None
    for event in events:
        job = event.mutate(job)
    assert isinstance(job, RegistrationJob)
    return job


def outcome(command: Any, job: RegistrationJob) -> tuple[Any, ...]:
    """What a command did: refused (the error's type and errors, having recorded nothing) or
    done (each event it recorded, but for its time)."""
    try:
        command()
    except RegflowError as exc:
        assert job.pending_events == [], "a refused edit recorded events"
        return ("refused", type(exc), exc.errors)
    return ("done", [_fields(e) for e in job.collect_events()])


def _fields(event: Any) -> tuple[str, dict[str, Any]]:
    return type(event).__name__, {k: v for k, v in vars(event).items() if k != "timestamp"}


def with_results(edits: list[tuple[str, str]]) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [(key, target, None) for key, target in edits]


@settings(max_examples=300, deadline=None)
@given_data(st.data(), EDITS, LIVE)
def test_while_the_worker_holds_the_lease_every_edit_of_a_call_in_flight_is_refused(
    data: st.DataObject, edits: list[tuple[str, str]], lease: LeaseSeen
) -> None:
    events = stopped_with_calls_in_flight(data)
    job, unseen = loaded(events), loaded(events)
    flying = job.in_flight()
    assert job.orphaned_calls(lease) == []
    preview = outcome(lambda: job.preview_edits(edits, lease), job)
    assert preview == outcome(lambda: unseen.preview_edits(edits), unseen)
    edit = outcome(lambda: job.edit(with_results(edits), "user:u-1", REASON, lease=lease), job)
    assert edit == outcome(lambda: unseen.edit(with_results(edits), "user:u-1", REASON), unseen)
    if touches_in_flight(job, edits):
        assert edit[:2] == ("refused", SubStepInFlight)
        assert job.in_flight() == flying
    validation = job.validation(flying[0], lease)
    assert (validation.status, validation.editable) == ("in_progress", False)


@settings(max_examples=300, deadline=None)
@given_data(st.data(), EDITS, EXPIRED)
def test_once_the_lease_expired_an_edit_records_the_interruption_once_then_itself(
    data: st.DataObject, edits: list[tuple[str, str]], lease: LeaseSeen
) -> None:
    events = stopped_with_calls_in_flight(data)
    job, twin = loaded(events), loaded(events)
    flying = job.in_flight()
    assert job.orphaned_calls(lease) == flying
    # The twin: a worker took the lease and recorded the calls interrupted; then the edit.
    twin.interrupt_abandoned_calls()
    interruptions = [_fields(e) for e in twin.collect_events()]
    assert [name for name, _ in interruptions] == ["SubStepInterrupted"] * len(flying)
    twin_preview = outcome(lambda: twin.preview_edits(edits), twin)
    assert outcome(lambda: job.preview_edits(edits, lease), job) == twin_preview
    twin_edit = outcome(lambda: twin.edit(with_results(edits), "user:u-1", REASON), twin)
    edit = outcome(lambda: job.edit(with_results(edits), "user:u-1", REASON, lease=lease), job)
    assert edit[:2] != ("refused", SubStepInFlight)
    if twin_edit[0] == "refused":
        assert edit == twin_edit and job.in_flight() == flying
        return
    # The edit records the interruptions as the worker would have, but as its operator's.
    by_the_editor = [(name, fields | {"actor": "user:u-1"}) for name, fields in interruptions]
    assert [fields["actor"] for _, fields in interruptions] == ["engine"] * len(flying)
    assert edit == ("done", by_the_editor + twin_edit[1])
    for key in flying:  # the calls' outcomes come too late: refused, and nothing changes
        for late in (
            lambda k=key: job.complete_sub_step(k, {"codeInjectionId": "ci-late"}),
            lambda k=key: job.fail_sub_step(k, "HTTP 400", transient=False),
            lambda k=key: job.schedule_retry(k, "HTTP 503", delay=1.0),
        ):
            assert outcome(late, job)[:2] == ("refused", IllegalTransition)


@settings(max_examples=100, deadline=None)
@given_data(st.data(), st.sampled_from(PLAN.keys), EXPIRED)
def test_once_the_lease_expired_the_validation_shows_what_the_edit_would_find(
    data: st.DataObject, key: str, lease: LeaseSeen
) -> None:
    events = stopped_with_calls_in_flight(data)
    job, twin = loaded(events), loaded(events)
    twin.interrupt_abandoned_calls()
    shown, expected = job.validation(key, lease), twin.validation(key)
    assert shown == expected
    assert shown.editable
    assert job.pending_events == [] and job.in_flight() != []
