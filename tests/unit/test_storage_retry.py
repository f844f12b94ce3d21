"""Storage writes: retried 1 s, 2 s, 4 s apart, without losing or repeating a write."""

from __future__ import annotations

import logging

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError
from hypothesis import given
from hypothesis import strategies as st

from domain.exceptions import JobNotFound
from domain.retry import RetryPolicy
from infrastructure.storage_retry import ALREADY_STORED, StorageRetry

CLOUDFLARE_520 = (
    "<!DOCTYPE html><html><head><title>db.example.com | 520: Web server is returning an "
    "unknown error</title></head></html>"
)


class FlakyWrite:
    """A write that raises the given errors in turn, then stores once."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0
        self.stored: list[str] = []

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        self.stored.append("event")
        return "saved"


@pytest.fixture
def delays() -> list[float]:
    return []


@pytest.fixture
def retry(delays: list[float]) -> StorageRetry:
    return StorageRetry(sleep=delays.append, log=logging.getLogger("test.storage"))


class TestTransientFailures:
    def test_retries_at_1_2_4_seconds(self, retry: StorageRetry, delays: list[float]) -> None:
        write = FlakyWrite(ConnectionResetError(), Exception(CLOUDFLARE_520), TimeoutError())
        assert retry.run(write, name="save job") == "saved"
        assert delays == [1.0, 2.0, 4.0]
        assert write.stored == ["event"]

    def test_gives_up_after_three_retries(self, retry: StorageRetry, delays: list[float]) -> None:
        write = FlakyWrite(*[ConnectionResetError("reset")] * 4)
        with pytest.raises(ConnectionResetError):
            retry.run(write, name="save job")
        assert (write.calls, delays) == (4, [1.0, 2.0, 4.0])

    def test_logs_one_line_per_retry(
        self, retry: StorageRetry, caplog: pytest.LogCaptureFixture
    ) -> None:
        write = FlakyWrite(Exception(CLOUDFLARE_520))
        with caplog.at_level(logging.WARNING, logger="test.storage"):
            retry.run(write, name="save job")
        assert caplog.messages == [
            "[save job] transient error, retrying in 1.0s (attempt 1/3): "
            "Cloudflare: 520: Web server is returning an unknown error"
        ]

    def test_jitter_comes_from_the_injected_source(self, delays: list[float]) -> None:
        policy = RetryPolicy(max_attempts=2, initial_delay=10, max_delay=10, jitter=0.5)
        retry = StorageRetry(policy, sleep=delays.append, random_fraction=lambda: 0.0)
        retry.run(FlakyWrite(TimeoutError()), name="w")
        assert delays == [5.0]


class TestPermanentFailures:
    def test_raise_at_once(self, retry: StorageRetry, delays: list[float]) -> None:
        write = FlakyWrite(ValueError("bad event"))
        with pytest.raises(ValueError, match="bad event"):
            retry.run(write, name="save job")
        assert (write.calls, delays) == (1, [])

    def test_a_refusal_is_raised_as_it_is_not_logged_as_a_storage_failure(
        self, retry: StorageRetry, delays: list[float], caplog: pytest.LogCaptureFixture
    ) -> None:
        read = FlakyWrite(JobNotFound("23838c92"))
        with pytest.raises(JobNotFound):
            retry.run(read, name="load job 23838c92")
        assert (read.calls, delays, caplog.records) == (1, [], [])

    def test_conflict_on_first_try_is_not_ambiguous(self, retry: StorageRetry) -> None:
        write = FlakyWrite(IntegrityError("stale version"))
        with pytest.raises(IntegrityError):
            retry.run(write, name="save job", was_stored=lambda: True)


class TestAmbiguousWrites:
    def test_stored_write_is_not_repeated(self, retry: StorageRetry, delays: list[float]) -> None:
        write = FlakyWrite(ConnectionResetError("lost during commit"))
        result = retry.run(write, name="save job", was_stored=lambda: True)
        assert result is ALREADY_STORED
        assert (write.calls, write.stored, delays) == (1, [], [1.0])

    def test_unstored_write_is_repeated(self, retry: StorageRetry) -> None:
        write = FlakyWrite(ConnectionResetError("lost before commit"))
        assert retry.run(write, name="save job", was_stored=lambda: False) == "saved"
        assert write.stored == ["event"]

    def test_conflict_on_retry_is_checked_against_the_store(self, retry: StorageRetry) -> None:
        answers = iter([False, True])
        write = FlakyWrite(ConnectionResetError(), IntegrityError("version exists"))
        result = retry.run(write, name="save job", was_stored=lambda: next(answers))
        assert result is ALREADY_STORED
        assert write.calls == 2

    def test_conflict_on_retry_with_nothing_stored_is_raised(self, retry: StorageRetry) -> None:
        write = FlakyWrite(ConnectionResetError(), IntegrityError("someone else wrote"))
        with pytest.raises(IntegrityError):
            retry.run(write, name="save job", was_stored=lambda: False)

    def test_check_that_fails_transiently_means_try_again(self, retry: StorageRetry) -> None:
        checks = FlakyWrite(ConnectionRefusedError())
        write = FlakyWrite(ConnectionResetError())
        result = retry.run(write, name="save job", was_stored=lambda: checks() == "")
        assert result == "saved"
        assert write.stored == ["event"]


DROPPED = psycopg.OperationalError("consuming input failed: server closed the connection")


class TestDroppedConnections:
    """With a pool's check of its connections, a write that met a connection the server
    dropped is tried again at once on a live one, once; then the policy's waits apply."""

    @pytest.fixture
    def checks(self) -> list[str]:
        return []

    @pytest.fixture
    def checked(self, delays: list[float], checks: list[str]) -> StorageRetry:
        return StorageRetry(sleep=delays.append, check_connections=lambda: checks.append("check"))

    @given(st.integers(0, 5))
    def test_only_the_first_dropped_connection_is_tried_again_at_once(self, dropped: int) -> None:
        delays: list[float] = []
        checks: list[str] = []
        retry = StorageRetry(sleep=delays.append, check_connections=lambda: checks.append("c"))
        write = FlakyWrite(*[DROPPED] * dropped)
        if dropped > 4:
            with pytest.raises(psycopg.OperationalError):
                retry.run(write, name="w")
        else:
            assert retry.run(write, name="w") == "saved"
        assert len(checks) == min(dropped, 1)
        assert delays == [1.0, 2.0, 4.0][: max(0, min(dropped, 4) - 1)]
        assert write.stored == ([] if dropped > 4 else ["event"])

    def test_what_was_stored_is_checked_before_the_write_is_tried_again_at_once(
        self, checked: StorageRetry, checks: list[str], delays: list[float]
    ) -> None:
        write = FlakyWrite(DROPPED)
        assert checked.run(write, name="w", was_stored=lambda: True) is ALREADY_STORED
        assert (write.calls, checks, delays) == (1, ["check"], [])

    def test_a_conflict_on_the_write_tried_again_at_once_asks_what_was_stored(
        self, checked: StorageRetry
    ) -> None:
        answers = iter([False, True])
        write = FlakyWrite(DROPPED, IntegrityError("duplicate"))
        assert checked.run(write, name="w", was_stored=lambda: next(answers)) is ALREADY_STORED

    @pytest.mark.parametrize(
        "error", [ConnectionResetError("reset"), TimeoutError(), Exception(CLOUDFLARE_520)]
    )
    def test_other_transient_errors_wait_as_before(
        self, checked: StorageRetry, checks: list[str], delays: list[float], error: Exception
    ) -> None:
        assert checked.run(FlakyWrite(error), name="w") == "saved"
        assert (checks, delays) == ([], [1.0])

    def test_a_store_without_a_pool_to_check_waits_as_before(
        self, retry: StorageRetry, delays: list[float]
    ) -> None:
        assert retry.run(FlakyWrite(DROPPED), name="w") == "saved"
        assert delays == [1.0]
