"""The HTTP executor against the simulator over loopback: every answer classified right."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from infrastructure.executors.http import HttpExecutor
from infrastructure.executors.port import SubStepCall
from infrastructure.executors.simulator.app import SIMULATOR, create_simulator
from infrastructure.executors.simulator.calls import executions_per_key
from infrastructure.executors.simulator.faults import SimulatorConfig
from infrastructure.executors.simulator.main import start_embedded_simulator
from infrastructure.executors.simulator.serving import Simulator

MakeServer = Callable[..., Awaitable[TestServer]]
ACCOUNT = "/api/registration/register-account"


def account_call(job: str | None = None, timeout: float = 5.0, **payload: Any) -> SubStepCall:
    job_id = job or str(uuid.uuid4())
    return SubStepCall(
        job_id=job_id,
        organisation_id="org-7",
        sub_step="cloudwaitressAccount",
        endpoint=ACCOUNT,
        idempotency_key=f"{job_id}:cloudwaitressAccount:1",
        attempt=1,
        payload=payload,
        timeout=timeout,
    )


class Harness:
    """An executor pointed at a simulator served on loopback."""

    def __init__(self, server: TestServer, executor: HttpExecutor) -> None:
        self.server = server
        self.executor = executor

    @property
    def simulator(self) -> Simulator:
        return self.server.app[SIMULATOR]


@pytest.fixture
async def harness_for(
    aiohttp_server: MakeServer,
) -> AsyncIterator[Callable[..., Awaitable[Harness]]]:
    executors: list[HttpExecutor] = []

    async def make(client_key: str | None = None, **config: Any) -> Harness:
        server = await aiohttp_server(create_simulator(SimulatorConfig.model_validate(config)))
        executor = HttpExecutor(str(server.make_url("")), service_key=client_key)
        executors.append(executor)
        return Harness(server, executor)

    yield make
    for executor in executors:
        await executor.close()


Make = Callable[..., Awaitable[Harness]]


class TestClassification:
    async def test_success_gives_the_answer_as_result(self, harness_for: Make) -> None:
        harness = await harness_for()
        outcome = await harness.executor.call(account_call())
        assert outcome.ok and outcome.status == 200
        assert "accountId" in outcome.result and "success" not in outcome.result

    async def test_503_is_transient(self, harness_for: Make) -> None:
        harness = await harness_for(faults=[{"kind": "unavailable"}])
        outcome = await harness.executor.call(account_call())
        assert (outcome.ok, outcome.transient, outcome.status) == (False, True, 503)

    async def test_cloudflare_page_is_transient_with_a_short_message(
        self, harness_for: Make
    ) -> None:
        harness = await harness_for(faults=[{"kind": "cloudflare"}])
        outcome = await harness.executor.call(account_call())
        assert outcome.transient and outcome.status == 520
        assert outcome.error == "Cloudflare: 520: Web server is returning an unknown error"

    async def test_timeout_is_transient(self, harness_for: Make) -> None:
        harness = await harness_for(faults=[{"kind": "timeout", "times": 1}])
        outcome = await harness.executor.call(account_call(timeout=0.2))
        assert (outcome.ok, outcome.transient, outcome.error) == (
            False,
            True,
            "Timed out after 0.2s",
        )

    async def test_429_carries_retry_after(self, harness_for: Make) -> None:
        harness = await harness_for(faults=[{"kind": "rate_limited", "retry_after": 2}])
        outcome = await harness.executor.call(account_call())
        assert (outcome.transient, outcome.retry_after, outcome.status) == (True, 2.0, 429)

    async def test_400_is_permanent(self, harness_for: Make) -> None:
        harness = await harness_for(faults=[{"kind": "bad_request"}])
        outcome = await harness.executor.call(account_call())
        assert (outcome.ok, outcome.transient, outcome.status) == (False, False, 400)
        assert outcome.error == "HTTP 400: Validation failed (simulated permanent fault)"

    async def test_success_false_is_permanent(self, harness_for: Make) -> None:
        harness = await harness_for(faults=[{"kind": "success_false"}])
        outcome = await harness.executor.call(account_call())
        assert (outcome.ok, outcome.transient) == (False, False)
        assert outcome.error == "The registration was refused (simulated)"

    async def test_refused_connection_is_transient(self, unused_tcp_port: int) -> None:
        executor = HttpExecutor(f"http://127.0.0.1:{unused_tcp_port}")
        try:
            outcome = await executor.call(account_call())
        finally:
            await executor.close()
        assert (outcome.ok, outcome.transient) == (False, True)


class TestIdempotency:
    async def test_retry_after_a_timeout_executes_once(self, harness_for: Make) -> None:
        harness = await harness_for(faults=[{"kind": "timeout", "times": 1}])
        call = account_call(timeout=0.2)
        first = await harness.executor.call(call)
        second = await harness.executor.call(call)
        assert (first.ok, second.ok) == (False, True)
        assert executions_per_key(harness.simulator.calls) == {call.idempotency_key: 1}

    async def test_second_call_with_the_same_key_is_a_replay(self, harness_for: Make) -> None:
        harness = await harness_for()
        call = account_call()
        first, second = [await harness.executor.call(call) for _ in range(2)]
        assert first.result == second.result
        assert [c.replay for c in harness.simulator.calls] == [False, True]

    async def test_concurrent_same_key_calls_execute_once(self, harness_for: Make) -> None:
        harness = await harness_for(latency={ACCOUNT: 0.2})
        call = account_call()
        outcomes = await asyncio.gather(*(harness.executor.call(call) for _ in range(4)))
        assert all(o.ok and o.result == outcomes[0].result for o in outcomes)
        assert executions_per_key(harness.simulator.calls) == {call.idempotency_key: 1}


class TestRequests:
    async def test_headers_are_sent(self, harness_for: Make) -> None:
        harness = await harness_for(client_key="sk-1", service_key="sk-1")
        call = account_call()
        assert (await harness.executor.call(call)).ok
        record = harness.simulator.calls[0]
        assert (record.key, record.organisation) == (call.idempotency_key, "org-7")

    async def test_wrong_service_key_is_permanent(self, harness_for: Make) -> None:
        harness = await harness_for(client_key="wrong", service_key="sk-1")
        outcome = await harness.executor.call(account_call())
        assert (outcome.status, outcome.transient) == (401, False)

    async def test_fault_for_one_job_spares_the_others(self, harness_for: Make) -> None:
        harness = await harness_for(faults=[{"kind": "unavailable", "job": "job-a"}])
        hit = await harness.executor.call(account_call(job="job-a"))
        spared = await harness.executor.call(account_call(job="job-b"))
        assert (hit.ok, spared.ok) == (False, True)

    async def test_path_values_come_from_the_payload(self, harness_for: Make) -> None:
        harness = await harness_for()
        call = SubStepCall(
            "job-1",
            "org-7",
            "uploadImages",
            "/menus/{menuId}/upload-images",
            "job-1:uploadImages:1",
            1,
            {"menuId": "m 1"},
        )
        outcome = await harness.executor.call(call)
        assert outcome.ok and outcome.result["menuId"] == "m 1"
        assert harness.simulator.calls[0].endpoint == "/menus/m 1/upload-images"

    async def test_connections_are_limited(self, harness_for: Make) -> None:
        harness = await harness_for(latency={ACCOUNT: 0.1})
        limited = HttpExecutor(str(harness.server.make_url("")), max_connections=2)
        try:
            await asyncio.gather(*(limited.call(account_call()) for _ in range(6)))
        finally:
            await limited.close()
        assert max_concurrent(harness.simulator.calls) == 2


def max_concurrent(calls: list[Any]) -> int:
    edges = [(c.started, 1) for c in calls] + [(c.finished, -1) for c in calls]
    running = peak = 0
    for _, change in sorted(edges, key=lambda e: (e[0], e[1])):
        running += change
        peak = max(peak, running)
    return peak


async def test_embedded_simulator_answers_the_executor() -> None:
    runner, base_url = await start_embedded_simulator()
    executor = HttpExecutor(base_url)
    try:
        assert (await executor.call(account_call())).ok
    finally:
        await executor.close()
        await runner.cleanup()
