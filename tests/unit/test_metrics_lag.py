"""The views' lag on /metrics while the store does not answer: each scrape says the lag is
unavailable, and a reading that failed after every scrape stopped waiting for it is not left
for asyncio to log, traceback and all, as an exception never retrieved."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, cast

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


class Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def records_of(*names: str) -> Iterator[list[logging.LogRecord]]:
    """What these loggers log meanwhile, whatever an earlier test left of the process's logging
    (a logging configuration run in-process disables the loggers that already exist, or sends
    the root's records elsewhere)."""
    kept, loggers = Kept(), [logging.getLogger(name) for name in names]
    before = [(lg.disabled, lg.level, lg.propagate) for lg in loggers]
    disabled_at = logging.root.manager.disable
    logging.disable(logging.NOTSET)
    for logger in loggers:
        logger.disabled, logger.propagate = False, False
        logger.setLevel(logging.DEBUG)
        logger.addHandler(kept)
    try:
        yield kept.records
    finally:
        for logger, (disabled, level, propagate) in zip(loggers, before, strict=True):
            logger.removeHandler(kept)
            logger.disabled, logger.propagate = disabled, propagate
            logger.setLevel(level)
        logging.disable(disabled_at)


async def logged_over_scrapes(error: Exception, count: int) -> list[logging.LogRecord]:
    """What is logged over `count` scrapes a second apart, each reading failing with `error`
    half a second after the scrape stopped waiting for it."""
    services = ServicesStub(SlowFailingViews(LAG_READ_SECONDS * 1.5, error))
    with records_of("regflow.api", "asyncio") as records:
        for _ in range(count):
            await _read_view_lag(cast(Any, services))
            await asyncio.sleep(LAG_READ_SECONDS)
        gc.collect()
        await asyncio.sleep(0)
    return records


async def test_a_reading_that_fails_after_the_scrape_stopped_waiting_is_not_left_unretrieved() -> (
    None
):
    records = await logged_over_scrapes(PoolWaitTimedOut("no connection in 5 s"), 3)
    said = [r.getMessage() for r in records]
    assert not [m for m in said if "never retrieved" in m], said
    assert [r.levelname for r in records if r.name == "asyncio"] == []
    assert sum("view lag unavailable" in m for m in said) >= 3


async def test_a_fault_of_the_code_in_a_reading_no_scrape_waited_for_is_logged_as_one() -> None:
    records = await logged_over_scrapes(TypeError("a bug"), 1)
    errors = [r for r in records if r.levelname == "ERROR"]
    assert [r.name for r in errors] == ["regflow.api"]
    assert errors[0].exc_info is not None and errors[0].exc_info[0] is TypeError
