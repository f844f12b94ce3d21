"""Load shedding: past a few waiting calls per thread, API requests are refused at once."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from api.admission import (
    RETRY_AFTER_SECONDS,
    WaitingCalls,
    admission_middleware,
    in_refusable_request,
)
from api.services import SERVICES, Services
from tests.api.conftest import BASE, Caller, restaurant


async def blocked_pool(services: Services) -> tuple[threading.Event, list[asyncio.Task[Any]]]:
    """Every thread of the pool held on an event, calls waiting behind them, and the oldest
    of those waiting longer than the process lets a call wait (made short here)."""
    assert services.pool is not None and services.waiting is not None
    services.waiting.longest_wait = 0.05
    release = threading.Event()
    threads = services.pool._max_workers
    tasks = [asyncio.ensure_future(services.run(release.wait, 30)) for _ in range(threads + 3)]
    while not services.waiting.full():
        await asyncio.sleep(0.01)
    return release, tasks


async def test_a_request_while_calls_wait_long_is_refused_at_once_and_served_after(
    org_a: Caller,
) -> None:
    batch = await org_a.new_batch(restaurant("Shed"))
    services = org_a.client.app[SERVICES]
    release, tasks = await blocked_pool(services)
    try:
        for path in (f"{BASE}/{batch['id']}", f"{BASE}/{batch['id']}/progress", BASE):
            async with org_a.client.get(
                path, headers={"Authorization": f"Bearer {org_a.key}"}
            ) as refused:
                assert refused.status == 503
                assert refused.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
                assert (await refused.json())["message"].startswith("Busy: ")
        status, _ = await org_a.post(BASE, json={"name": "not made", "restaurants": [restaurant()]})
        assert status == 503
        async with org_a.client.get("/health/live") as live:
            assert live.status == 200, "health is never refused"
        assert not release.is_set(), "every refusal came while every thread was still held"
    finally:
        release.set()
        await asyncio.gather(*tasks)
    assert services.waiting.count == 0
    status, found = await org_a.get(BASE)
    assert status == 200
    assert [b["name"] for b in found["batches"]].count("not made") == 0


async def test_fifty_cheap_requests_at_once_are_all_taken(org_a: Caller) -> None:
    batch = await org_a.new_batch(restaurant("Many"))
    answers = await asyncio.gather(*(org_a.get(f"{BASE}/{batch['id']}") for _ in range(50)))
    assert [status for status, _ in answers] == [200] * 50


async def test_fifty_cheap_requests_a_few_idle_seconds_after_dear_reads_are_all_taken(
    org_a: Caller,
) -> None:
    """A tester's repro: dear reads, a pause, then fifty edits at once: about 30 were refused
    by the average the dear reads had left, however long the process had been idle."""
    batch = await org_a.new_batch(*(restaurant(f"Cheap {i}") for i in range(50)))
    services = org_a.client.app[SERVICES]
    assert services.waiting is not None
    read = services._as_of_log

    def dear(*args: Any) -> Any:
        time.sleep(0.5)
        return read(*args)

    services._as_of_log = dear  # type: ignore[method-assign]
    try:
        await asyncio.gather(*(org_a.get(f"{BASE}/{batch['id']}/progress") for _ in range(20)))
    finally:
        del services._as_of_log
    assert services.waiting.call_seconds > 0.1
    await asyncio.sleep(4.0)
    edits = [
        org_a.patch(
            f"{BASE}/jobs/{job['id']}/steps/6/sub-steps/uploadImages",
            json={"status": "skipped", "reason": "after the burst"},
        )
        for job in batch["jobs"]
    ]
    assert [status for status, _ in await asyncio.gather(*edits)] == [200] * 50


async def test_a_burst_is_answered_or_refused_and_nothing_stays_counted(org_a: Caller) -> None:
    """A burst of reads slowed to 20 ms, where a call may wait 50 ms: every one is answered
    or refused, and the process serves again after the burst."""
    batch = await org_a.new_batch(restaurant("Burst"))
    services = org_a.client.app[SERVICES]
    assert services.waiting is not None
    services.waiting.longest_wait = 0.05
    read = services._as_of_log  # what a batch's read runs on a thread

    def slowed(*args: Any) -> Any:
        time.sleep(0.02)
        return read(*args)

    services._as_of_log = slowed  # type: ignore[method-assign]
    try:
        burst = 200
        answers = await asyncio.gather(
            *(org_a.get(f"{BASE}/{batch['id']}/progress") for _ in range(burst))
        )
    finally:
        del services._as_of_log
    statuses = [status for status, _ in answers]
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(503) > 0 and statuses.count(200) > 0
    assert services.waiting.count == 0
    assert (await org_a.get(f"{BASE}/{batch['id']}/progress"))[0] == 200


async def test_a_burst_arriving_at_once_is_cut_short_and_what_is_refused_never_runs(
    org_a: Caller,
) -> None:
    """Dear reads arriving together, before any was timed, are all taken in: each whose call
    then waits the longest wait for a thread is answered 503 at that moment, and its read never
    runs, even after the threads free up (a tester's 150 reads of a 3,000-job batch were all
    answered, the last after 12.7 s)."""
    batch = await org_a.new_batch(restaurant("Dear"))
    services = org_a.client.app[SERVICES]
    assert services.waiting is not None and services.pool is not None
    services.waiting.longest_wait = 0.2
    threads = services.pool._max_workers
    read = services._as_of_log
    runs: list[float] = []

    def dear(*args: Any) -> Any:
        runs.append(time.monotonic())
        time.sleep(0.15)
        return read(*args)

    services._as_of_log = dear  # type: ignore[method-assign]
    began = time.monotonic()

    async def timed() -> tuple[int, float]:
        status, _ = await org_a.get(f"{BASE}/{batch['id']}/progress")
        return status, time.monotonic() - began

    try:
        answers = await asyncio.gather(*(timed() for _ in range(6 * threads)))
        await asyncio.sleep(0.5)  # a refused read that ran late would run now
    finally:
        del services._as_of_log
    statuses = [status for status, _ in answers]
    assert set(statuses) == {200, 503}, statuses
    assert len(runs) == statuses.count(200), "only the reads answered ran"
    refused_by = max(after for status, after in answers if status == 503)
    assert refused_by < 2.0, "each refusal came when its call had waited the longest wait"
    assert services.waiting.count == 0


async def test_an_edit_refused_for_its_wait_changes_nothing(org_a: Caller) -> None:
    """Every thread held: an edit, a resume and a create wait the longest wait, are refused,
    and never run once the threads are free: the job's log and the batches are unchanged."""
    batch = await org_a.new_batch(restaurant("Kept"))
    job = batch["jobs"][0]
    _, before = await org_a.get(f"{BASE}/jobs/{job['id']}/events")
    services = org_a.client.app[SERVICES]
    assert services.waiting is not None and services.pool is not None
    services.waiting.longest_wait = 0.1
    release = threading.Event()
    threads = services.pool._max_workers
    holders = [asyncio.ensure_future(services.run(release.wait, 30)) for _ in range(threads)]
    while services.waiting.count:  # every thread took its holder: calls now wait behind them
        await asyncio.sleep(0.01)
    assert services.waiting.longest_wait < 1.0
    try:
        refused = await asyncio.gather(
            org_a.patch(
                f"{BASE}/jobs/{job['id']}/steps/6/sub-steps/uploadImages",
                json={"status": "skipped", "reason": "refused"},
            ),
            org_a.post(f"{BASE}/jobs/{job['id']}/cancel", json={"reason": "refused"}),
            org_a.post(BASE, json={"name": "never made", "restaurants": [restaurant()]}),
        )
        assert [status for status, _ in refused] == [503] * 3, refused
        assert not release.is_set()
    finally:
        release.set()
        await asyncio.gather(*holders)
    await asyncio.sleep(0.3)
    services.waiting.longest_wait = 1.0
    _, after = await org_a.get(f"{BASE}/jobs/{job['id']}/events")
    assert after == before
    _, listed = await org_a.get(BASE)
    assert "never made" not in [b["name"] for b in listed["batches"]]


async def test_the_wait_for_the_views_after_a_write_is_never_refused(org_a: Caller) -> None:
    """A cancel whose write ran, then every thread taken before its wait for the views: the
    wait queues past the longest wait and the request still answers what it did."""
    batch = await org_a.new_batch(restaurant("Written"))
    job = batch["jobs"][0]
    services = org_a.client.app[SERVICES]
    assert services.waiting is not None and services.pool is not None
    services.waiting.longest_wait = 0.05
    release = threading.Event()
    threads = services.pool._max_workers
    loop = asyncio.get_running_loop()
    holders: list[asyncio.Future[Any]] = []
    cancel = services.app.cancel

    def cancel_then_fill(*args: Any) -> Any:
        saved = cancel(*args)
        for _ in range(threads + 2):  # from outside any request: these wait, never refused
            holders.append(
                asyncio.run_coroutine_threadsafe(services.run(release.wait, 30), loop)  # type: ignore[arg-type]
            )
        threading.Timer(0.5, release.set).start()
        return saved

    services.app.cancel = cancel_then_fill  # type: ignore[method-assign]
    try:
        status, answer = await org_a.post(f"{BASE}/jobs/{job['id']}/cancel", json={"reason": "x"})
    finally:
        del services.app.cancel
        release.set()
    assert status == 200, answer
    assert release.is_set(), "the answer came after the threads freed up"
    await asyncio.gather(*(asyncio.wrap_future(holder) for holder in holders))
    _, found = await org_a.get(f"{BASE}/jobs/{job['id']}")
    assert found["job"]["status"] == "cancelled"


async def test_a_task_a_request_starts_is_not_the_request() -> None:
    """The calls of a background task begun inside a request (a stream's watcher) are never
    refused; the request's own are, and none outside a request."""
    seen: dict[str, bool] = {}

    async def in_task() -> bool:
        return in_refusable_request()

    async def handler(request: web.Request) -> web.Response:
        seen["request"] = in_refusable_request()
        seen["task"] = await asyncio.ensure_future(in_task())
        return web.Response()

    app = web.Application(middlewares=[admission_middleware(lambda: WaitingCalls(4), "/api")])
    app.router.add_get("/api/x", handler)
    app.router.add_get("/health", handler)
    async with TestClient(TestServer(app)) as client:
        assert (await client.get("/api/x")).status == 200
        assert seen == {"request": True, "task": False}
        assert (await client.get("/health")).status == 200
        assert seen == {"request": False, "task": False}
    assert not in_refusable_request()


@settings(max_examples=60, deadline=None)
@given(
    calls=st.integers(1, 40),
    threads=st.integers(1, 4),
    cancelled=st.sets(st.integers(0, 39)),
    seed=st.integers(0, 2**16),
)
def test_every_call_is_counted_out_once_whether_run_or_given_up(
    calls: int, threads: int, cancelled: set[int], seed: int
) -> None:
    """Calls handed to a pool, some given up at random moments by their callers: the count
    never goes below zero and ends at zero, whichever way each call ended."""
    shuffle = random.Random(seed)

    async def scenario() -> None:
        waiting = WaitingCalls(threads)
        lowest = [0]
        with ThreadPoolExecutor(threads) as pool:
            loop = asyncio.get_running_loop()

            def work() -> None:
                lowest[0] = min(lowest[0], waiting.count)
                time.sleep(shuffle.random() / 500)

            async def run() -> None:
                taken_up, count_out = waiting.counted(work)
                try:
                    await loop.run_in_executor(pool, taken_up)
                finally:
                    count_out()

            tasks = [asyncio.ensure_future(run()) for _ in range(calls)]
            for index in sorted(cancelled):
                if index < calls:
                    await asyncio.sleep(shuffle.random() / 1000)
                    tasks[index].cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        assert lowest[0] >= 0 and waiting.count == 0

    asyncio.run(scenario())


class Ticking:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def ran(waiting: WaitingCalls, clock: Ticking, seconds: float) -> None:
    """One call that took `seconds`, taken up at once."""

    def call() -> None:
        clock.now += seconds

    taken_up, _ = waiting.counted(call)
    taken_up()


@pytest.mark.parametrize("threads", [1, 4, 10])
def test_calls_may_wait_until_they_would_keep_every_thread_busy_a_second(threads: int) -> None:
    clock = Ticking()
    waiting = WaitingCalls(threads, longest_wait=1.0, clock=clock)
    for _ in range(60):
        ran(waiting, clock, 0.25)
    assert waiting.call_seconds == pytest.approx(0.25, rel=0.01)
    for _ in range(4 * threads):
        waiting.counted(lambda: None)
    assert not waiting.full(), "a second of work for every thread waits"
    waiting.counted(lambda: None)
    assert waiting.full()


def test_cheap_calls_after_dear_ones_are_not_judged_by_them_once_idle() -> None:
    """Fifty cheap requests a second after a burst of dear reads were refused by the
    average the dear reads left, which moved only when a call ended (a tester found it)."""
    clock = Ticking()
    waiting = WaitingCalls(10, longest_wait=1.0, clock=clock)
    for _ in range(60):
        ran(waiting, clock, 3.0)
    given_up = [waiting.counted(lambda: None)[1] for _ in range(40)]
    assert waiting.full(), "forty calls as dear as the last ones wait twelve seconds"
    clock.now += 5.0
    assert waiting.full(), "while calls wait, the process is not idle: nothing is forgotten"
    for count_out in given_up:
        count_out()
    clock.now += 10.0
    for _ in range(40):
        waiting.counted(lambda: None)
    assert waiting.call_seconds == pytest.approx(3.0 / 2**10, rel=0.01)
    assert not waiting.full(), "ten idle seconds later the dear calls are forgotten"
    clock.now += 0.5
    assert waiting.call_seconds == pytest.approx(3.0 / 2**10, rel=0.01), "waiting is not idle"


def test_a_call_waiting_past_the_longest_wait_fills_the_pool() -> None:
    clock = Ticking()
    waiting = WaitingCalls(4, longest_wait=1.0, clock=clock)
    _, count_out = waiting.counted(lambda: None)
    clock.now = 1.0
    assert not waiting.full()
    clock.now = 1.01
    assert waiting.full()
    count_out()
    assert not waiting.full() and waiting.count == 0


@pytest.mark.parametrize("threads", [1, 4, 10])
def test_a_burst_of_calls_nobody_timed_yet_is_bounded(threads: int) -> None:
    waiting = WaitingCalls(threads, clock=Ticking())
    for _ in range(waiting.most - 1):
        waiting.counted(lambda: None)
    assert not waiting.full()
    waiting.counted(lambda: None)
    assert waiting.full()
