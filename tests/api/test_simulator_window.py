"""The simulator keeps a bounded window of calls and answers, whatever it has served."""

from __future__ import annotations

from infrastructure.executors.simulator.app import SIMULATOR
from tests.api.test_simulator import ACCOUNT, MakeClient, key_for, post, simulator


async def test_only_the_latest_calls_are_kept(aiohttp_client: MakeClient) -> None:
    client = await simulator(aiohttp_client, keep_calls=3, keep_answers=2)
    keys = [key_for() for _ in range(6)]
    for key in keys:
        assert (await post(client, ACCOUNT, key)).status == 200
    state = client.app[SIMULATOR]
    assert [c.key for c in state.calls] == keys[-3:]
    assert list(state.answers) == keys[-2:]
    body = await (await client.get("/_simulator/calls")).json()
    assert len(body["calls"]) == 3


async def test_a_kept_answer_is_still_replayed(aiohttp_client: MakeClient) -> None:
    client = await simulator(aiohttp_client, keep_answers=2)
    key = key_for()
    first = await (await post(client, ACCOUNT, key)).json()
    again = await (await post(client, ACCOUNT, key)).json()
    assert first == again
