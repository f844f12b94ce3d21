"""Jobs waiting for API capacity in a worker process are counted by an API process on the same
PostgreSQL database: the batch's progress, its brief and full answers, its job pages and its
stream. Two processes' worth of objects: a worker's flow control on the shared ledger, and the
API role's app (no engine, no flow control of its own)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from infrastructure.engine.clock import SYSTEM_CLOCK
from infrastructure.engine.flow_control import open_flow
from infrastructure.flow.control import FlowControl
from infrastructure.settings import Settings
from tests.api.conftest import BASE, Caller, restaurant

STEP = "menuImport"


@pytest.fixture
def database_url(pg_url: str) -> str:
    """PostgreSQL only: the shared ledger, and so the shared record of waiting calls, is there."""
    return pg_url


@pytest.fixture
async def worker_flow(settings: Settings) -> AsyncIterator[FlowControl]:
    """Another process's flow control: one call at a time across every worker."""
    worker = settings.model_copy(update={"api_max_in_flight": 1})
    flow = open_flow(worker, "other-process-worker", SYSTEM_CLOCK)
    yield flow
    await flow.close()


async def waiting(caller: Caller, batch_id: str) -> dict[str, Any]:
    """What the API process answers about the batch's waiting jobs, every way it does."""
    _, progress = await caller.get(f"{BASE}/{batch_id}/progress")
    _, brief = await caller.get(f"{BASE}/{batch_id}", params={"brief": "1"})
    _, full = await caller.get(f"{BASE}/{batch_id}")
    _, page = await caller.get(f"{BASE}/{batch_id}/jobs")
    return {
        "progress": progress["waiting_for_capacity"],
        "brief": brief["batch"]["waiting_for_capacity"],
        "full": full["batch"]["waiting_for_capacity"],
        "progress jobs": {j["id"] for j in progress["jobs"] if j["waiting_for_capacity"]},
        "full jobs": {j["id"] for j in full["batch"]["jobs"] if j["waiting_for_capacity"]},
        "page jobs": {j["id"] for j in page["jobs"] if j["waiting_for_capacity"]},
    }


async def until(check: Any, deadline: float = 10.0) -> Any:
    ends = time.monotonic() + deadline
    while time.monotonic() < ends:
        if found := await check():
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("never happened")


async def first_counters(caller: Caller, batch_id: str) -> dict[str, Any]:
    _, ticket = await caller.post(f"{BASE}/{batch_id}/stream-token")
    async with caller.client.get(ticket["url"]) as stream:
        while True:
            line = (await asyncio.wait_for(stream.content.readline(), 10)).decode()
            if line.startswith("data:"):
                return dict(json.loads(line.split(":", 1)[1]))


async def test_an_api_process_counts_the_calls_waiting_in_a_worker(
    org_a: Caller, worker_flow: FlowControl
) -> None:
    batch = await org_a.new_batch(restaurant("A"), restaurant("B"), restaurant("C"))
    running, queued, _ = (job["id"] for job in batch["jobs"])
    slot = await worker_flow.acquire(org_a.org, STEP, running)
    call = asyncio.ensure_future(worker_flow.acquire(org_a.org, STEP, queued))
    await until(lambda: asyncio.sleep(0, worker_flow.waiting_job_ids() == {queued}))

    async def seen_waiting() -> dict[str, Any] | None:
        answers = await waiting(org_a, batch["id"])
        return answers if answers["progress"] else None

    answers = await until(seen_waiting)
    assert answers == {
        "progress": 1,
        "brief": 1,
        "full": 1,
        "progress jobs": {queued},
        "full jobs": {queued},
        "page jobs": {queued},
    }
    assert (await first_counters(org_a, batch["id"]))["waiting_for_capacity"] == 1
    other = await org_a.new_batch(restaurant("D"))
    assert (await waiting(org_a, other["id"]))["brief"] == 0

    worker_flow.release(slot)
    granted = await asyncio.wait_for(call, 10)

    async def seen_none() -> bool:
        answers = await waiting(org_a, batch["id"])
        return not answers["progress"] and not answers["page jobs"]

    await until(seen_none)
    assert (await first_counters(org_a, batch["id"]))["waiting_for_capacity"] == 0
    worker_flow.release(granted)
