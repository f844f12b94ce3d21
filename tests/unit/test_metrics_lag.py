"""The views' lag on /metrics while the store does not answer: each scrape says the lag is
unavailable, and a reading that failed after every scrape stopped waiting for it is not left
for asyncio to log, traceback and all, as an exception never retrieved."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from typing import Any, cast

import pytest

from api.metrics import LAG_READ_SECONDS, _read_view_lag
from infrastructure.chain.pool_waits import PoolWaitTimedOut


class SlowFailingViews:
    """Views whose lag reading fails, as a pool wait that timed out does, after `seconds`."""

    def __init__(self, seconds: float, error: Exception) -> None:
        self.seconds, self.error = seconds, error

    def lag(self) -> dict[str, int]:
        raise self.error


class ServicesStub:
    def __init__(self, views: SlowFailingViews) -> None:
        self.read_models = views
        self.lag_reading: asyncio.Future[Any] | None = None

    async def run(self, fn: Callable[[], Any]) -> Any:
        await asyncio.sleep(cast(SlowFailingViews, self.read_models).seconds)
        return fn()


async def logged_over_scrapes(
    caplog: pytest.LogCaptureFixture, error: Exception, count: int
) -> list[logging.LogRecord]:
    """What is logged over `count` scrapes a second apart, each reading failing with `error`
    half a second after the scrape stopped waiting for it."""
    services = ServicesStub(SlowFailingViews(LAG_READ_SECONDS * 1.5, error))
    with caplog.at_level(logging.WARNING):
        for _ in range(count):
            await _read_view_lag(cast(Any, services))
            await asyncio.sleep(LAG_READ_SECONDS)
        gc.collect()
        await asyncio.sleep(0)
    return caplog.records


async def test_a_reading_that_fails_after_the_scrape_stopped_waiting_is_not_left_unretrieved(
    caplog: pytest.LogCaptureFixture,
) -> None:
    records = await logged_over_scrapes(caplog, PoolWaitTimedOut("no connection in 5 s"), 3)
    said = [r.getMessage() for r in records]
    assert not [m for m in said if "never retrieved" in m], said
    assert [r.levelname for r in records if r.name == "asyncio"] == []
    assert sum("view lag unavailable" in m for m in said) >= 3


async def test_a_fault_of_the_code_in_a_reading_no_scrape_waited_for_is_logged_as_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    records = await logged_over_scrapes(caplog, TypeError("a bug"), 1)
    errors = [r for r in records if r.levelname == "ERROR"]
    assert [r.name for r in errors] == ["regflow.api"]
    assert errors[0].exc_info is not None and errors[0].exc_info[0] is TypeError
