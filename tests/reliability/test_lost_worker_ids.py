"""A worker id lost to another live process: a derived one is traded for a free one, and the
process carries on; one set explicitly is waited for, as readiness says.

Engines of this one process stand for processes: each holds its worker id on a PostgreSQL
session of its own. Cutting that session (pg_terminate_backend) is a process's connection
dropping; a newcomer engine started then takes the id, as a process starting meanwhile would.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, closing

import psycopg
import pytest

from api.health import engine_problems
from infrastructure.engine import Engine
from infrastructure.engine.worker_locks import advisory_key
from infrastructure.executors.simulator.calls import executions_per_key
from infrastructure.executors.simulator.faults import SimulatorConfig
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import running_engine, simulator, start_batch
from tests.conftest import new_database, store_settings
from tests.kit import eventually, restaurants
from tests.reliability.test_postgres_workers import assert_log_intact

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
LEASE = 3.0  # an engine looks at its worker id every LEASE / 3 seconds
CHECK = LEASE / 3


@pytest.fixture
def own_url(pg_url: str) -> Iterator[str]:
    """A database of this test's own: its engines fight over ids and are cut off."""
    with new_database("regflow_ids") as (_, url):
        yield url


def lock_sessions(url: str, worker_id: str) -> list[int]:
    """The sessions (backend pids) holding `worker_id`'s advisory lock on this database."""
    key = advisory_key(worker_id)
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            """SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
              AND objsubid = 1 AND classid::bigint = %s AND objid::bigint = %s
              AND database = (SELECT oid FROM pg_database WHERE datname = current_database())""",
            ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
        ).fetchall()
    return [row[0] for row in rows]


def cut_lock_session(url: str, worker_id: str) -> None:
    """Terminate the session holding `worker_id`, and wait until it is gone (the id is free)."""
    (pid,) = lock_sessions(url, worker_id)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))


def claimed_by(app: Registrations, job_ids: list[str], worker_id: str) -> bool:
    """Whether any of these jobs was claimed by `worker_id`."""
    return any(
        type(e).__name__ == "Claimed" and e.worker_id == worker_id
        for job_id in job_ids
        for e in app.events.get(app.job(job_id).id)
    )


class SharedIds:
    """Watches engines: the longest time two of them went on as holders of one id."""

    def __init__(self, engines: list[Engine]) -> None:
        self.engines = engines
        self.longest = 0.0
        self._since: dict[str, float] = {}

    def look(self) -> None:
        now = time.monotonic()
        holding = [e.worker_id for e in self.engines if e.identity_held]
        shared = {w for w in holding if holding.count(w) > 1}
        self._since = {w: self._since.get(w, now) for w in shared}
        self.longest = max([self.longest, *(now - t for t in self._since.values())])

    @asynccontextmanager
    async def watching(self) -> AsyncIterator[SharedIds]:
        async def forever() -> None:
            while True:
                self.look()
                await asyncio.sleep(0.01)

        task = asyncio.ensure_future(forever())
        try:
            yield self
        finally:
            task.cancel()


async def trade_round(
    own_url: str,
    app: Registrations,
    engines: list[Engine],
    victim: Engine,
    newcomer: Callable[[], Awaitable[Engine]],
    earlier: list[str],
) -> list[str] | None:
    """Cut `victim`'s lock session and start a newcomer engine meanwhile: when that takes the
    victim's id, the victim trades it for a free one and runs jobs (the new batch's ids are
    returned); None when the victim took its id back first (not the case under test)."""
    lost = victim.worker_id
    cut_lock_session(own_url, lost)
    engines.append(await newcomer())
    if engines[-1].worker_id != lost:
        return None
    await eventually(
        lambda: victim.health()["worker_id_held"] and victim.worker_id != lost, timeout=6 * CHECK
    )
    ids = [e.worker_id for e in engines]
    assert len(set(ids)) == len(ids), ids
    assert all(len(lock_sessions(own_url, w)) == 1 for w in ids)
    # More jobs than the other engines can run at once: the victim must take some. Jobs are
    # taken oldest first, so those it takes may be earlier rounds' still in progress; its
    # fresh id claimed nothing before the trade, so any claim under it is a run after it.
    batch = start_batch(app, restaurants(2 * len(engines) + 2))
    await eventually(lambda: claimed_by(app, earlier + batch, victim.worker_id))
    return batch


@pytest.mark.parametrize("seed", [0, 1])
async def test_a_derived_id_lost_to_another_process_is_traded_for_a_free_one(
    own_url: str, seed: int
) -> None:
    settings = store_settings(own_url, lease_seconds=LEASE, max_concurrent_jobs=2)
    assert settings.worker_id is None, "derived"
    pick, rounds, job_ids = random.Random(seed), 0, []
    slow = SimulatorConfig(latency={"*": 0.25})  # a job outlasts a look for work
    with closing(Registrations(settings)) as app:
        async with simulator(slow) as (sim, url), AsyncExitStack() as stack:

            async def newcomer() -> Engine:
                return await stack.enter_async_context(running_engine(app, settings, url))

            engines = [await newcomer(), await newcomer()]
            watch = await stack.enter_async_context(SharedIds(engines).watching())
            for _ in range(12):
                victim = pick.choice(engines)
                batch = await trade_round(own_url, app, engines, victim, newcomer, job_ids)
                rounds, job_ids = rounds + (batch is not None), job_ids + (batch or [])
                if rounds == 3:
                    break
            assert rounds == 3
            await eventually(
                lambda: {str(app.job(j).status) for j in job_ids} == {"completed"}, timeout=60
            )
            assert watch.longest < CHECK + 1.0, "one id went on in two engines too long"
        assert set(executions_per_key(sim.calls).values()) == {1}
        assert_log_intact(app, job_ids)


async def test_an_explicit_id_lost_to_another_process_is_waited_for(own_url: str) -> None:
    explicit = f"w-{uuid.uuid4().hex[:8]}"
    settings = store_settings(own_url, lease_seconds=LEASE, worker_id=explicit)
    with closing(Registrations(settings)) as app:
        async with simulator() as (_, url), running_engine(app, settings, url) as engine:
            cut_lock_session(own_url, explicit)
            key = advisory_key(explicit)
            with psycopg.connect(own_url, autocommit=True) as other:
                assert other.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]
                await eventually(lambda: not engine.health()["worker_id_held"], timeout=6 * CHECK)
                said = engine_problems("worker", engine.health())
                assert said == [
                    "engine: its worker id is held by another live process; no job runs here"
                ]
                job_ids = start_batch(app, restaurants(2))
                await asyncio.sleep(2 * CHECK)  # time enough to take a job, were it to run one
                assert engine.worker_id == explicit and not engine.runners
                assert not claimed_by(app, job_ids, explicit)
                other.execute("SELECT pg_advisory_unlock(%s)", (key,))
            await eventually(lambda: engine.health()["worker_id_held"], timeout=6 * CHECK)
            assert engine.worker_id == explicit
            await eventually(lambda: {str(app.job(j).status) for j in job_ids} == {"completed"})
