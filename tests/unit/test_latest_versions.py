"""Lookups of jobs' latest versions: concurrent ones share a query, and none is answered by a
query begun before it asked (it could miss a change answered meanwhile)."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import pytest

from api.latest_versions import LatestVersions


class Log:
    """Versions by aggregate, read by queries that each wait to be let through."""

    def __init__(self) -> None:
        self.versions: dict[UUID, int] = {}
        self.queries: list[list[UUID]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.failing: Exception | None = None

    async def read(self, ids: list[UUID]) -> dict[UUID, int]:
        self.queries.append(ids)
        seen = dict(self.versions)  # what the query's snapshot holds: as it began
        await self.gate.wait()
        if self.failing is not None:
            raise self.failing
        return {i: seen[i] for i in ids if i in seen}


async def began(log: Log) -> None:
    """Let the lookups asked so far ask, and their query begin."""
    while not log.queries:
        await asyncio.sleep(0)


class TestLatestVersions:
    async def test_concurrent_lookups_share_one_query(self) -> None:
        log, a, b = Log(), uuid4(), uuid4()
        log.versions = {a: 3, b: 7}
        latest = LatestVersions(log.read)
        found = await asyncio.gather(latest.of(a), latest.of(b), latest.of(a))
        assert (found, len(log.queries)) == ([3, 7, 3], 1)

    async def test_a_lookup_asked_during_a_query_waits_for_the_next(self) -> None:
        log, job = Log(), uuid4()
        log.versions[job] = 1
        log.gate.clear()
        latest = LatestVersions(log.read)
        early = asyncio.ensure_future(latest.of(job))
        await began(log)
        log.versions[job] = 2  # a command answered while the first query runs
        late = asyncio.ensure_future(latest.of(job))
        log.gate.set()
        assert (await early, await late, len(log.queries)) == (1, 2, 2)

    async def test_an_aggregate_without_events_has_no_version(self) -> None:
        assert await LatestVersions(Log().read).of(uuid4()) is None

    async def test_a_failed_query_fails_its_lookups_and_the_next_asks_again(self) -> None:
        log, job = Log(), uuid4()
        log.versions[job] = 4
        log.failing = ConnectionError("the store went away")
        latest = LatestVersions(log.read)
        with pytest.raises(ConnectionError):
            await latest.of(job)
        log.failing = None
        assert await latest.of(job) == 4

    async def test_a_lookup_given_up_does_not_stop_the_others(self) -> None:
        log, job = Log(), uuid4()
        log.versions[job] = 5
        log.gate.clear()
        latest = LatestVersions(log.read)
        gone, kept = asyncio.ensure_future(latest.of(job)), asyncio.ensure_future(latest.of(job))
        await began(log)
        gone.cancel()
        log.gate.set()
        assert await kept == 5
