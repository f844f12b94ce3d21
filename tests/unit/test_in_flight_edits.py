"""A job cancelled while calls were in flight: an edit that would change a sub-step whose call is
still in flight is a conflict with the job's state (409), whatever else the edits hold; any
other edit is judged by the editing rules alone."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given as given_data
from hypothesis import settings
from hypothesis import strategies as st

from domain.exceptions import RegflowError, SubStepInFlight
from domain.job import RegistrationJob
from domain.plan import PLAN
from tests.unit.jobs import (
    EDIT_TARGETS,
    EDITS,
    PHASE1,
    cancel_with_calls_in_flight,
    given,
    running_job,
    succeed,
    touches_in_flight,
)

REASON = "done by hand"


def cancelled_with_calls_in_flight(data: st.DataObject) -> RegistrationJob:
    """A job run a little way, each ready sub-step completed, failed, or left in flight, then
    cancelled with at least one call in flight."""
    job = running_job()
    cancel_with_calls_in_flight(job, data)
    return given(job)


@settings(max_examples=300, deadline=None)
@given_data(st.data(), EDITS)
def test_an_edit_of_a_call_in_flight_is_a_conflict_and_no_other_is(
    data: st.DataObject, edits: list[tuple[str, str]]
) -> None:
    job = cancelled_with_calls_in_flight(data)
    flying = job.in_flight()
    expected = touches_in_flight(job, edits)
    with_results: list[tuple[str, str, dict[str, Any] | None]] = [(k, t, None) for k, t in edits]
    for attempt in (
        lambda: job.preview_edits(edits),
        lambda: job.edit(with_results, "user:u-1", REASON),
    ):
        try:
            attempt()
        except SubStepInFlight as exc:
            assert expected, exc.errors
            assert any("still in flight" in e for e in exc.errors)
            assert job.pending_events == [] and job.in_flight() == flying
            continue
        except RegflowError:
            pass
        assert not expected, f"{edits} was not refused as a conflict"


@pytest.mark.parametrize("target", EDIT_TARGETS)
def test_the_conflict_names_the_sub_step_in_flight(target: str) -> None:
    job = running_job()
    job.start_sub_step("cloudwaitressAccount")
    job.cancel("user:u-1", None)
    job = given(job)
    with pytest.raises(SubStepInFlight) as refused:
        job.edit([("cloudwaitressAccount", target, None)], "user:u-1", REASON)
    verb = "reset" if target == "pending" else f"mark cloudwaitressAccount as {target}"
    assert refused.value.message.startswith(f"Cannot {verb}")
    assert "cloudwaitressAccount" in refused.value.message


def test_marking_failed_what_a_call_in_flight_depends_on_waits_for_its_outcome() -> None:
    """The resume of a sub-step marked failed runs it again (under a new generation: a new
    account) while the call of a dependent, made on its old outcome, could still land."""
    job = running_job()
    succeed(job, *PHASE1)
    job.start_sub_step("restaurantRegistration")
    job.cancel("user:u-1", None)
    job = given(job)
    with pytest.raises(SubStepInFlight) as refused:
        job.edit([("cloudwaitressAccount", "failed", None)], "user:u-1", REASON)
    assert refused.value.message == (
        "Cannot mark cloudwaitressAccount as failed: restaurantRegistration depends on it and "
        "its call to the registration API is still in flight; try again once its outcome is "
        "recorded"
    )
    assert job.pending_events == []
    job.complete_sub_step("restaurantRegistration", {"restaurantId": "r-1"})
    job.edit([("cloudwaitressAccount", "failed", None)], "user:u-1", REASON)
    assert job.sub_steps["cloudwaitressAccount"].status == "failed"


WITH_DEPENDENCIES = [
    (key, upstream)
    for key in PLAN.keys
    for upstream in PLAN.keys
    if key in PLAN.cascade_of(upstream)
]


@pytest.mark.parametrize(("flying", "upstream"), WITH_DEPENDENCIES)
def test_no_sub_step_a_call_in_flight_depends_on_can_be_marked_failed(
    flying: str, upstream: str
) -> None:
    """Every pair of the plan: a sub-step in flight, and one it depends on, however far up."""
    job = running_job()
    while flying not in job.runnable():
        succeed(job, next(k for k in job.runnable() if k != flying))
    job.start_sub_step(flying)
    job.cancel("user:u-1", None)
    job = given(job)
    with pytest.raises(SubStepInFlight) as refused:
        job.edit([(upstream, "failed", None)], "user:u-1", REASON)
    assert refused.value.message.startswith(f"Cannot mark {upstream} as failed: {flying} depends")
    assert job.pending_events == []
