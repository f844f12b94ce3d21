"""A background loop that fails every round says so once a minute, not every round: a worker
whose passphrase no longer opens the keys (after `rotate-keys`, until it is restarted) filled
its log with a traceback twice a second."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infrastructure.engine.complaints import REPEAT_QUIET_SECONDS, Complaints
from infrastructure.keys.ring import WrongPassphrase
from tests.unit.flow_kit import FakeClock


def lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "regflow.engine"]


def test_a_refusal_failing_every_round_is_said_once_a_minute_in_its_words(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    complaints = Complaints(clock)
    refused = WrongPassphrase("REGFLOW_SECRET_KEY does not open this store's keys")
    with caplog.at_level(logging.INFO, "regflow.engine"):
        for _ in range(120):  # a minute of rounds, two a second
            complaints("looking for work", refused)
            clock.advance(0.5)
        complaints("looking for work", refused)
    said = lines(caplog)
    assert len(said) == 2
    assert all(r.exc_info is None for r in said)  # a refusal in its words, no traceback
    assert "does not open this store's keys" in said[0].getMessage()
    assert "and 119 times more since it was last said" in said[1].getMessage()


@given(st.lists(st.tuples(st.sampled_from("ab"), st.floats(0, 30)), max_size=40))
def test_each_kind_is_said_at_most_once_in_any_quiet_window(steps: list[tuple[str, float]]) -> None:
    """Of each kind, no two lines closer than the quiet window; the first is always said."""
    clock = FakeClock()
    complaints = Complaints(clock)
    said: list[tuple[str, float]] = []
    handler = logging.Handler()
    handler.emit = lambda record: said.append((record.getMessage()[:1], clock.t))  # type: ignore[method-assign]
    logger = logging.getLogger("regflow.engine")
    # As other tests may have left them: a simulation run quiets `regflow` to CRITICAL.
    level, disabled, disabled_at = logger.level, logger.disabled, logging.root.manager.disable
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.disabled = False
    logging.disable(logging.NOTSET)
    try:
        for kind, wait in steps:
            complaints(kind, RuntimeError(f"failure {kind}"))
            clock.advance(wait)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.disabled = disabled
        logging.disable(disabled_at)
    for kind in "ab":
        times = [t for k, t in said if k == kind]
        assert all(b - a >= REPEAT_QUIET_SECONDS for a, b in zip(times, times[1:], strict=False))
        assert bool(times) == any(k == kind for k, _ in steps)
