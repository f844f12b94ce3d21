"""The engine's decisions as domain values: outcome to decision, and how a run ended."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.outcomes import (
    AttemptDecision,
    AttemptOutcome,
    RunEnd,
    counted_attempts,
    outcome_of,
    quarantine_seconds,
    rule,
)
from domain.retry import RetryPolicy

POLICY = RetryPolicy(max_attempts=3, initial_delay=1.0, multiplier=2.0, max_delay=8.0, jitter=0.0)


def ruling(outcome: AttemptOutcome, counted: int = 1, outage: bool = False, **kw: float):
    return rule(outcome, policy=POLICY, counted=counted, outage=outage, fraction=0.5, **kw)


class TestAttemptDecisions:
    def test_success_completes(self) -> None:
        assert ruling(AttemptOutcome.SUCCEEDED).decision is AttemptDecision.COMPLETED

    def test_a_permanent_failure_fails_at_once_even_in_an_outage(self) -> None:
        result = ruling(AttemptOutcome.FAILED_PERMANENTLY, outage=True)
        assert result.decision is AttemptDecision.FAILED

    def test_a_transient_failure_retries_after_the_backoff(self) -> None:
        result = ruling(AttemptOutcome.FAILED_TRANSIENTLY, counted=2)
        assert (result.decision, result.delay) == (AttemptDecision.RETRY, 2.0)

    def test_the_last_counted_attempt_fails(self) -> None:
        result = ruling(AttemptOutcome.FAILED_TRANSIENTLY, counted=3)
        assert result.decision is AttemptDecision.FAILED

    def test_an_outage_spares_the_attempt_however_many_came_before(self) -> None:
        result = ruling(AttemptOutcome.FAILED_TRANSIENTLY, counted=50, outage=True)
        assert result.decision is AttemptDecision.SPARED and result.retries

    def test_retry_after_is_honoured(self) -> None:
        result = ruling(AttemptOutcome.FAILED_TRANSIENTLY, retry_after=7.0)
        assert result.delay == 7.0

    def test_a_full_api_spares_the_attempt_and_waits_as_it_asked(self) -> None:
        result = ruling(AttemptOutcome.OVER_CAPACITY, counted=50, retry_after=7.0)
        assert (result.decision, result.delay) == (AttemptDecision.SPARED, 7.0)

    @given(st.integers(1, 100), st.booleans(), st.booleans(), st.booleans())
    def test_a_call_never_made_is_spared_whatever_else_is_known(
        self, counted: int, ok: bool, transient: bool, outage: bool
    ) -> None:
        outcome = outcome_of(ok, transient, made=False)
        result = ruling(outcome, counted=counted, outage=outage)
        assert outcome is AttemptOutcome.NOT_MADE
        assert result.decision is AttemptDecision.SPARED and result.retries

    def test_an_unanswered_attempt_is_interrupted(self) -> None:
        assert ruling(AttemptOutcome.UNANSWERED).decision is AttemptDecision.INTERRUPTED

    @pytest.mark.parametrize(
        ("ok", "transient", "outcome"),
        [
            (True, False, AttemptOutcome.SUCCEEDED),
            (False, True, AttemptOutcome.FAILED_TRANSIENTLY),
            (False, False, AttemptOutcome.FAILED_PERMANENTLY),
        ],
    )
    def test_outcome_of_an_answer(self, ok: bool, transient: bool, outcome: AttemptOutcome) -> None:
        assert outcome_of(ok, transient) is outcome

    def test_a_full_api_is_over_capacity_not_failing(self) -> None:
        assert outcome_of(False, True, over_capacity=True) is AttemptOutcome.OVER_CAPACITY

    @given(st.integers(1, 100), st.integers(0, 100))
    def test_spared_attempts_never_count(self, run_attempts: int, spared: int) -> None:
        counted = counted_attempts(run_attempts, spared)
        assert counted == max(1, run_attempts - spared)
        assert counted <= run_attempts

    @given(st.integers(1, 20))
    def test_outside_an_outage_only_the_policy_decides(self, counted: int) -> None:
        result = ruling(AttemptOutcome.FAILED_TRANSIENTLY, counted=counted)
        expected = AttemptDecision.RETRY if counted < 3 else AttemptDecision.FAILED
        assert result.decision is expected


class TestRunEnds:
    @pytest.mark.parametrize(
        ("status", "end"),
        [
            ("completed", RunEnd.COMPLETED),
            ("failed", RunEnd.FAILED),
            ("cancelled", RunEnd.CANCELLED),
            ("pending", RunEnd.NOT_RUNNING),
        ],
    )
    def test_a_status_ends_a_run(self, status: str, end: RunEnd) -> None:
        assert RunEnd.of_status(status) is end

    def test_a_lost_lease_is_not_released(self) -> None:
        assert [e for e in RunEnd if not e.releases_lease] == [RunEnd.LOST]

    def test_only_a_broken_run_quarantines(self) -> None:
        assert [e for e in RunEnd if e.quarantines] == [RunEnd.BROKEN]

    def test_runs_cut_short_are_not_settled(self) -> None:
        unsettled = {RunEnd.STOPPED, RunEnd.LOST, RunEnd.STORE_UNAVAILABLE, RunEnd.BROKEN}
        unsettled.add(RunEnd.OTHER_API)  # left in progress for a worker of the other API
        assert {e for e in RunEnd if not e.settled} == unsettled


class TestQuarantine:
    def test_backoff_doubles_and_is_capped(self) -> None:
        assert [quarantine_seconds(n) for n in (1, 2, 3, 6, 40)] == [30, 60, 120, 900, 900]

    def test_strikes_start_at_one(self) -> None:
        with pytest.raises(ValueError):
            quarantine_seconds(0)
