"""Flow control made visible: jobs waiting for API capacity in the batch answers, and metrics."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from api.runtime import build_app
from infrastructure.settings import Settings, reveal
from tests.api.conftest import BASE, Caller, Client, MakeClient, restaurant
from tests.api.test_engine_flows import settled_job, simulator


@pytest.fixture
async def capped_client(aiohttp_client: MakeClient, api_settings: Settings) -> Client:
    capped = api_settings.model_copy(
        update={"role": "all", "api_max_in_flight": 1, "registration_api_url": "simulator"}
    )
    return await aiohttp_client(build_app(capped))


@pytest.fixture
def caller(capped_client: Client, api_settings: Settings) -> Caller:
    org, key = (reveal(api_settings.api_keys) or "").split(",")[0].split(":", 1)
    return Caller(capped_client, org, key)


async def poll(caller: Caller, path: str, check: Any, deadline: float = 20.0) -> dict[str, Any]:
    ends = time.monotonic() + deadline
    while time.monotonic() < ends:
        _, body = await caller.get(path)
        if check(body):
            return dict(body)
        await asyncio.sleep(0.02)
    raise AssertionError(f"{path} never satisfied the check")


async def poll_metrics(caller: Caller, check: Any, deadline: float = 20.0) -> str:
    auth = {"Authorization": f"Bearer {caller.key}"}
    ends = time.monotonic() + deadline
    while time.monotonic() < ends:
        text = await (await caller.client.get("/metrics", headers=auth)).text()
        if check(text):
            return text
        await asyncio.sleep(0.02)
    raise AssertionError("/metrics never satisfied the check")


async def test_the_batch_answers_say_which_jobs_wait_for_api_capacity(caller: Caller) -> None:
    await simulator(caller.client, "PUT", "/_simulator/faults", {"latency": {"*": 0.2}})
    batch = await caller.new_batch(restaurant("A"), restaurant("B"))
    await caller.post(f"{BASE}/{batch['id']}/step-6/start")
    progress = await poll(
        caller, f"{BASE}/{batch['id']}/progress", lambda b: b["waiting_for_capacity"] >= 1
    )
    flagged = [j["id"] for j in progress["jobs"] if j["waiting_for_capacity"]]
    assert len(flagged) == progress["waiting_for_capacity"]
    brief = await poll(
        caller,
        f"{BASE}/{batch['id']}?brief=1",
        lambda b: b["batch"]["waiting_for_capacity"] >= 1,
    )
    assert "jobs" not in brief["batch"]
    other = await caller.new_batch(restaurant("C"))
    _, idle = await caller.get(f"{BASE}/{other['id']}", params={"brief": "1"})
    assert idle["batch"]["waiting_for_capacity"] == 0
    waiting_line = f'regflow_api_calls_waiting{{organisation="{caller.org}"}}'
    metrics = await poll_metrics(caller, lambda text: waiting_line in text)
    assert "regflow_api_limit 1.0" in metrics
    await simulator(caller.client, "PUT", "/_simulator/faults", {"latency": {"*": 0.0}})
    for job in batch["jobs"]:
        assert (await settled_job(caller, job["id"]))["status"] == "completed"
    _, answer = await caller.get(f"{BASE}/{batch['id']}")
    assert answer["batch"]["waiting_for_capacity"] == 0
    _, brief = await caller.get(f"{BASE}/{batch['id']}", params={"brief": "1"})
    assert brief["batch"]["waiting_for_capacity"] == 0
    assert not any(j["waiting_for_capacity"] for j in answer["batch"]["jobs"])
