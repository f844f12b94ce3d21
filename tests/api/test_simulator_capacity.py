"""The simulator's capacity fault: beyond N calls in flight it answers 429 with Retry-After."""

from __future__ import annotations

import asyncio

from infrastructure.executors.simulator.app import SIMULATOR
from tests.api.test_simulator import ACCOUNT, MakeClient, key_for, post, simulator


async def test_calls_beyond_the_capacity_get_429_with_retry_after(
    aiohttp_client: MakeClient,
) -> None:
    client = await simulator(
        aiohttp_client, capacity={"limit": 2, "retry_after": 0.5}, latency={"*": 0.3}
    )
    answers = await asyncio.gather(*(post(client, ACCOUNT, key_for()) for _ in range(5)))
    statuses = sorted(a.status for a in answers)
    assert statuses == [200, 200, 429, 429, 429]
    assert {a.headers.get("Retry-After") for a in answers if a.status == 429} == {"0.5"}
    sim = client.app[SIMULATOR]
    assert 3 <= sim.peak_in_flight <= 5 and sim.in_flight == 0
    assert sorted(str(c.fault) for c in sim.calls).count("capacity") == 3


async def test_capacity_frees_as_calls_finish(aiohttp_client: MakeClient) -> None:
    client = await simulator(aiohttp_client, capacity={"limit": 1}, latency={"*": 0.01})
    statuses = [(await post(client, ACCOUNT, key_for())).status for _ in range(4)]
    assert statuses == [200, 200, 200, 200]


async def test_capacity_is_set_and_shown_at_run_time(aiohttp_client: MakeClient) -> None:
    client = await simulator(aiohttp_client, latency={"*": 0.2})
    settings = {"capacity": {"limit": 1, "retry_after": 2}}
    shown = await (await client.put("/_simulator/faults", json=settings)).json()
    answers = await asyncio.gather(*(post(client, ACCOUNT, key_for()) for _ in range(2)))
    assert shown["capacity"] == {"limit": 1, "retry_after": 2.0}
    assert sorted(a.status for a in answers) == [200, 429]
    calls = await (await client.get("/_simulator/calls")).json()
    assert calls["peak_in_flight"] == 2


async def test_a_capacity_below_one_is_refused(aiohttp_client: MakeClient) -> None:
    client = await simulator(aiohttp_client)
    response = await client.put("/_simulator/faults", json={"capacity": {"limit": 0}})
    assert response.status == 400
