"""The simulated registration API over loopback HTTP: faults, idempotency, the record."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from domain.plan import SUB_STEPS
from infrastructure.executors.simulator.app import SIMULATOR, create_simulator
from infrastructure.executors.simulator.calls import executions_per_key, overlapping_executions
from infrastructure.executors.simulator.faults import SimulatorConfig
from infrastructure.executors.simulator.main import start_embedded_simulator

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]
ACCOUNT = "/api/registration/register-account"


def key_for(sub_step: str = "cloudwaitressAccount", job: str | None = None) -> str:
    return f"{job or uuid.uuid4()}:{sub_step}:1"


async def post(
    client: Client, path: str, key: str | None, payload: dict[str, Any] | None = None
) -> ClientResponse:
    headers = {"Idempotency-Key": key} if key else {}
    return await client.post(path, json=payload or {}, headers=headers)


async def simulator(make: MakeClient, **config: Any) -> Client:
    return await make(create_simulator(SimulatorConfig.model_validate(config)))


class TestEndpoints:
    @pytest.mark.parametrize("step", SUB_STEPS, ids=lambda s: s.key)
    async def test_every_endpoint_succeeds(self, aiohttp_client: MakeClient, step: Any) -> None:
        client = await simulator(aiohttp_client)
        path = step.endpoint.replace("{menuId}", "m-1")
        response = await post(client, path, key_for(step.key))
        assert response.status == 200
        assert (await response.json())["success"] is True

    async def test_answers_carry_realistic_fields(self, aiohttp_client: MakeClient) -> None:
        client = await simulator(aiohttp_client)
        key = key_for("codeGeneration")
        answer = await (
            await post(client, "/api/registration/generate-code-injections", key)
        ).json()
        assert uuid.UUID(answer["codeInjectionId"]) and answer["generatedAt"]

    async def test_passwords_are_never_echoed(self, aiohttp_client: MakeClient) -> None:
        client = await simulator(aiohttp_client)
        payload = {"email": "a@b.nz", "password": "hunter2-secret"}
        response = await post(client, ACCOUNT, key_for(), payload)
        assert "hunter2-secret" not in await response.text()

    async def test_idempotency_key_is_required(self, aiohttp_client: MakeClient) -> None:
        client = await simulator(aiohttp_client)
        assert (await post(client, ACCOUNT, None)).status == 400

    async def test_service_key_is_checked_when_configured(self, aiohttp_client: MakeClient) -> None:
        client = await simulator(aiohttp_client, service_key="sk-1")
        wrong = await client.post(ACCOUNT, json={}, headers={"Idempotency-Key": key_for()})
        right = await client.post(
            ACCOUNT, json={}, headers={"Idempotency-Key": key_for(), "X-Service-Key": "sk-1"}
        )
        assert (wrong.status, right.status) == (401, 200)


class TestFaults:
    @pytest.mark.parametrize(
        ("kind", "status"),
        [("unavailable", 503), ("cloudflare", 520), ("rate_limited", 429), ("bad_request", 400)],
    )
    async def test_fault_strikes_n_times(
        self, aiohttp_client: MakeClient, kind: str, status: int
    ) -> None:
        client = await simulator(aiohttp_client, faults=[{"kind": kind, "times": 2}])
        key = key_for()
        statuses = [(await post(client, ACCOUNT, key)).status for _ in range(3)]
        assert statuses == [status, status, 200]

    async def test_success_false_is_a_200_refusal(self, aiohttp_client: MakeClient) -> None:
        client = await simulator(aiohttp_client, faults=[{"kind": "success_false"}])
        response = await post(client, ACCOUNT, key_for())
        assert (response.status, (await response.json())["success"]) == (200, False)

    async def test_rate_limit_sends_retry_after(self, aiohttp_client: MakeClient) -> None:
        rule = {"kind": "rate_limited", "retry_after": 3}
        client = await simulator(aiohttp_client, faults=[rule])
        assert (await post(client, ACCOUNT, key_for())).headers["Retry-After"] == "3"

    async def test_unavailable_sends_retry_after_only_when_given(
        self, aiohttp_client: MakeClient
    ) -> None:
        client = await simulator(
            aiohttp_client,
            faults=[
                {"kind": "unavailable", "retry_after": 4, "endpoint": ACCOUNT},
                {"kind": "unavailable"},
            ],
        )
        told = await post(client, ACCOUNT, key_for())
        untold = await post(client, "/menus/m-1/upload-images", key_for("uploadImages"))
        assert (told.status, told.headers["Retry-After"]) == (503, "4")
        assert untold.status == 503 and "Retry-After" not in untold.headers

    async def test_a_rule_naming_no_call_is_refused_and_the_rules_stay(
        self, aiohttp_client: MakeClient
    ) -> None:
        kept = [{"kind": "bad_request", "endpoint": ACCOUNT}]
        client = await simulator(aiohttp_client, faults=kept)
        for rule in (
            {"kind": "bad_request", "endpoint": "menu-import"},
            {"kind": "cloudflare", "retry_after": 3},
        ):
            refused = await client.put("/_simulator/faults", json={"faults": [rule]})
            assert refused.status == 400, rule
            assert (await refused.json())["errors"]
        assert (await post(client, ACCOUNT, key_for())).status == 400

    async def test_fault_hits_only_its_job_and_endpoint(self, aiohttp_client: MakeClient) -> None:
        rule = {"kind": "unavailable", "job": "job-a", "endpoint": "cloudwaitressAccount"}
        client = await simulator(aiohttp_client, faults=[rule])
        hit = await post(client, ACCOUNT, key_for(job="job-a"))
        other_job = await post(client, ACCOUNT, key_for(job="job-b"))
        other_step = await post(
            client, "/menus/m-1/upload-images", key_for("uploadImages", "job-a")
        )
        assert (hit.status, other_job.status, other_step.status) == (503, 200, 200)

    async def test_faults_can_be_set_at_run_time(self, aiohttp_client: MakeClient) -> None:
        client = await simulator(aiohttp_client)
        rules = {"faults": [{"kind": "bad_request", "endpoint": ACCOUNT}]}
        assert (await client.put("/_simulator/faults", json=rules)).status == 200
        assert (await post(client, ACCOUNT, key_for())).status == 400

    async def test_invalid_fault_settings_are_refused(self, aiohttp_client: MakeClient) -> None:
        client = await simulator(aiohttp_client)
        response = await client.put("/_simulator/faults", json={"faults": [{"kind": "fire"}]})
        assert response.status == 400
        assert (await response.json())["errors"]

    async def test_transient_fault_is_not_stored_for_the_key(
        self, aiohttp_client: MakeClient
    ) -> None:
        client = await simulator(aiohttp_client, faults=[{"kind": "cloudflare", "times": 1}])
        key = key_for()
        await post(client, ACCOUNT, key)
        await post(client, ACCOUNT, key)
        calls = client.app[SIMULATOR].calls
        assert [(c.fault, c.executed) for c in calls] == [("cloudflare", False), (None, True)]


class TestIdempotency:
    async def test_repeated_key_replays_the_stored_answer(self, aiohttp_client: MakeClient) -> None:
        client = await simulator(aiohttp_client)
        key = key_for()
        first = await (await post(client, ACCOUNT, key)).json()
        second = await (await post(client, ACCOUNT, key)).json()
        calls = client.app[SIMULATOR].calls
        assert first == second
        assert executions_per_key(calls) == {key: 1}
        assert [c.replay for c in calls] == [False, True]

    async def test_concurrent_same_key_executes_once(self, aiohttp_client: MakeClient) -> None:
        client = await simulator(aiohttp_client, latency={ACCOUNT: 0.2})
        key = key_for()
        answers = await asyncio.gather(*(post(client, ACCOUNT, key) for _ in range(3)))
        bodies = [await a.json() for a in answers]
        calls = client.app[SIMULATOR].calls
        assert all(body == bodies[0] for body in bodies)
        assert executions_per_key(calls) == {key: 1}
        assert overlapping_executions(calls) == []
        assert len(overlapping_executions(calls, executed_only=False)) == 3


class TestRecord:
    async def test_calls_are_recorded_with_their_key_parts(
        self, aiohttp_client: MakeClient
    ) -> None:
        client = await simulator(aiohttp_client)
        await post(client, ACCOUNT, "job-1:cloudwaitressAccount:2")
        calls = (await (await client.get("/_simulator/calls")).json())["calls"]
        assert len(calls) == 1
        assert {k: calls[0][k] for k in ("job", "sub_step", "generation", "status")} == {
            "job": "job-1",
            "sub_step": "cloudwaitressAccount",
            "generation": "2",
            "status": 200,
        }
        assert calls[0]["started"] <= calls[0]["finished"]

    async def test_record_can_be_cleared(self, aiohttp_client: MakeClient) -> None:
        client = await simulator(aiohttp_client)
        await post(client, ACCOUNT, key_for())
        assert (await (await client.delete("/_simulator/calls")).json())["cleared"] == 1
        assert (await (await client.get("/_simulator/calls")).json())["calls"] == []

    async def test_overlapping_executions_of_one_sub_step_are_found(
        self, aiohttp_client: MakeClient
    ) -> None:
        client = await simulator(aiohttp_client, latency={ACCOUNT: 0.2})
        job = str(uuid.uuid4())
        keys = [f"{job}:cloudwaitressAccount:1", f"{job}:cloudwaitressAccount:2"]
        await asyncio.gather(*(post(client, ACCOUNT, key) for key in keys))
        pairs = overlapping_executions(client.app[SIMULATOR].calls)
        assert [(a["key"], b["key"]) for a, b in pairs] in ([tuple(keys)], [tuple(keys[::-1])])

    async def test_health(self, aiohttp_client: MakeClient) -> None:
        client = await simulator(aiohttp_client)
        assert (await (await client.get("/_simulator/health")).json())["status"] == "ok"


async def test_embedded_simulator_serves_on_a_free_loopback_port() -> None:
    runner, base_url = await start_embedded_simulator()
    try:
        assert base_url.startswith("http://127.0.0.1:") and not base_url.endswith(":0")
    finally:
        await runner.cleanup()
