"""Retry policy arithmetic: backoff, cap, jitter, Retry-After and validation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.retry import STORAGE_WRITE_POLICY, RetryPolicy


class TestDelayBefore:
    def test_storage_writes_wait_1_2_4_seconds(self) -> None:
        delays = [STORAGE_WRITE_POLICY.delay_before(attempt, 0.5) for attempt in (1, 2, 3)]
        assert delays == [1.0, 2.0, 4.0]

    def test_backoff_is_capped(self) -> None:
        policy = RetryPolicy(initial_delay=1, multiplier=3, max_delay=10, jitter=0)
        assert [policy.delay_before(a, 0.0) for a in (1, 2, 3, 4, 500)] == [1, 3, 9, 10, 10]

    @pytest.mark.parametrize(("fraction", "expected"), [(0.0, 3.6), (0.5, 4.0), (0.75, 4.2)])
    def test_jitter_spreads_around_the_backoff(self, fraction: float, expected: float) -> None:
        policy = RetryPolicy(initial_delay=2, multiplier=2, max_delay=60, jitter=0.1)
        assert policy.delay_before(2, fraction) == pytest.approx(expected)

    def test_retry_after_lengthens_the_wait(self) -> None:
        assert STORAGE_WRITE_POLICY.delay_before(1, 0.0, retry_after=3.5) == 3.5

    def test_short_retry_after_does_not_shorten_the_backoff(self) -> None:
        assert STORAGE_WRITE_POLICY.delay_before(3, 0.0, retry_after=0.5) == 4.0

    def test_retry_after_is_capped(self) -> None:
        assert STORAGE_WRITE_POLICY.delay_before(1, 0.0, retry_after=3600) == 40.0

    @pytest.mark.parametrize(("attempt", "fraction"), [(0, 0.5), (1, 1.0), (1, -0.1)])
    def test_nonsense_arguments_are_refused(self, attempt: int, fraction: float) -> None:
        with pytest.raises(ValueError):
            STORAGE_WRITE_POLICY.delay_before(attempt, fraction)


class TestMayRetry:
    def test_storage_writes_retry_three_times(self) -> None:
        verdicts = [STORAGE_WRITE_POLICY.may_retry(attempt) for attempt in (1, 2, 3, 4)]
        assert verdicts == [True, True, True, False]
        assert STORAGE_WRITE_POLICY.retries == 3

    def test_single_attempt_never_retries(self) -> None:
        assert RetryPolicy(max_attempts=1).may_retry(1) is False


class TestValidation:
    @pytest.mark.parametrize(
        ("fields", "complaint"),
        [
            ({"max_attempts": 0}, "max_attempts"),
            ({"max_attempts": 2.5}, "max_attempts"),
            ({"max_attempts": True}, "max_attempts"),
            ({"initial_delay": -1}, "initial_delay"),
            ({"multiplier": 0.5}, "multiplier"),
            ({"initial_delay": 10, "max_delay": 5}, "max_delay"),
            ({"jitter": 1.0}, "jitter"),
            ({"jitter": -0.1}, "jitter"),
            ({"timeout": 0}, "timeout"),
            ({"max_delay": float("inf")}, "finite"),
        ],
    )
    def test_nonsense_is_refused(self, fields: dict[str, float], complaint: str) -> None:
        with pytest.raises(ValueError, match=complaint):
            RetryPolicy(**fields)  # type: ignore[arg-type]


policies = st.builds(
    RetryPolicy,
    max_attempts=st.integers(1, 50),
    initial_delay=st.floats(0, 100),
    multiplier=st.floats(1, 10),
    max_delay=st.floats(100, 10_000),
    jitter=st.floats(0, 0.99),
)


@given(policy=policies, fraction=st.floats(0, 1, exclude_max=True))
def test_delays_never_exceed_the_cap(policy: RetryPolicy, fraction: float) -> None:
    assert all(0 <= policy.delay_before(a, fraction) <= policy.max_delay for a in range(1, 80))


@given(policy=policies)
def test_delays_without_jitter_never_shrink(policy: RetryPolicy) -> None:
    calm = RetryPolicy(
        initial_delay=policy.initial_delay,
        multiplier=policy.multiplier,
        max_delay=policy.max_delay,
        jitter=0.0,
    )
    delays = [calm.delay_before(attempt, 0.5) for attempt in range(1, 80)]
    assert delays == sorted(delays)
