"""Over-capacity answers (429, or 503 with Retry-After) use up no attempt and wait as asked."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.failures import is_over_capacity
from domain.outcomes import AttemptDecision
from domain.retry import RetryPolicy
from infrastructure.engine.decisions import decide, record
from infrastructure.executors.port import CallOutcome
from tests.unit.jobs import running_job

POLICY = RetryPolicy(max_attempts=2, initial_delay=1.0, max_delay=8.0, jitter=0.1)
FULL = CallOutcome(ok=False, transient=True, status=429, retry_after=0.5, error="HTTP 429")


@pytest.mark.parametrize(
    ("status", "retry_after", "full"),
    [(429, None, True), (429, 2.0, True), (503, 2.0, True), (503, None, False), (500, 2.0, False)],
)
def test_what_counts_as_over_capacity(status: int, retry_after: float | None, full: bool) -> None:
    assert is_over_capacity(status, retry_after) is full


def test_a_429_on_the_last_attempt_is_retried_after_its_retry_after() -> None:
    job = running_job()
    for _ in range(5):
        job.start_sub_step("cloudwaitressAccount")
        ruling = decide(job, "cloudwaitressAccount", FULL, POLICY, 0.0, outage=False)
        assert (ruling.decision, ruling.delay) == (AttemptDecision.SPARED, 0.5)
        record("cloudwaitressAccount", FULL, ruling)(job)
    assert job.sub_steps["cloudwaitressAccount"].spared == 5


def test_a_503_without_retry_after_still_uses_up_attempts() -> None:
    job = running_job()
    down = CallOutcome(ok=False, transient=True, status=503, error="HTTP 503")
    job.start_sub_step("cloudwaitressAccount")
    job.schedule_retry("cloudwaitressAccount", "HTTP 503", 1.0)
    job.start_sub_step("cloudwaitressAccount")
    ruling = decide(job, "cloudwaitressAccount", down, POLICY, 0.0, outage=False)
    assert ruling.decision is AttemptDecision.FAILED


@given(st.floats(0, 0.999), st.one_of(st.none(), st.floats(allow_nan=True)))
def test_the_wait_is_never_shorter_than_asked_nor_unbounded(
    fraction: float, retry_after: float | None
) -> None:
    delay = POLICY.delay_when_full(fraction, retry_after)
    assert 0 <= delay <= POLICY.retry_after_cap * (1 + POLICY.jitter)
    if retry_after is not None and math.isfinite(retry_after):
        assert delay >= min(max(retry_after, 0.0), POLICY.retry_after_cap)
