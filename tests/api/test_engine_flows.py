"""The whole product through HTTP: the engine runs jobs against the embedded simulator."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from api.runtime import RUNTIME, build_app
from infrastructure.settings import Settings, reveal
from tests.api.conftest import BASE, Caller, Client, MakeClient, restaurant
from tests.kit import eventually_value

STOPPED = ("completed", "failed", "cancelled")
DEADLINE = 30.0


@pytest.fixture
async def engine_client(aiohttp_client: MakeClient, api_settings: Settings) -> Client:
    update: dict[str, Any] = {"role": "all"}
    if api_settings.is_postgres:
        update["registration_api_url"] = "simulator"
    return await aiohttp_client(build_app(api_settings.model_copy(update=update)))


@pytest.fixture
def caller(engine_client: Client, api_settings: Settings) -> Caller:
    org, key = (reveal(api_settings.api_keys) or "").split(",")[0].split(":", 1)
    return Caller(engine_client, org, key)


async def simulator(client: Client, method: str, path: str, body: Any = None) -> Any:
    url = client.app[RUNTIME].simulator_url
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, f"{url}{path}", json=body) as r,
    ):
        assert r.status == 200
        return await r.json()


async def settled_with_faults(caller: Caller, *faults: dict[str, Any]) -> tuple[str, Any]:
    """A job started while the simulator answers with these faults: its id, and the job settled."""
    await simulator(caller.client, "PUT", "/_simulator/faults", {"faults": list(faults)})
    job_id = await caller.started_job()
    return job_id, await settled_job(caller, job_id)


async def settled_job(caller: Caller, job_id: str) -> dict[str, Any]:
    """Poll until the job stops running (a deadline, never a fixed sleep)."""

    async def stopped() -> dict[str, Any] | None:
        _, body = await caller.get(f"{BASE}/jobs/{job_id}")
        return dict(body["job"]) if body["job"]["status"] in STOPPED else None

    return await eventually_value(stopped, DEADLINE, 0.05)


async def test_runs_a_batch_to_completion(caller: Caller) -> None:
    batch = await caller.new_batch(restaurant("A"), restaurant("B"))
    status, _ = await caller.post(f"{BASE}/{batch['id']}/step-6/start")
    assert status == 202
    for job in batch["jobs"]:
        settled = await settled_job(caller, job["id"])
        assert settled["status"] == "completed"
        assert settled["steps"][0]["sub_step_progress"]["registration_api"] == "simulator"
    _, progress = await caller.get(f"{BASE}/{batch['id']}/progress")
    assert (progress["status"], progress["completed"], progress["percent"]) == ("completed", 2, 100)


async def test_resume_after_phase1_runs_only_what_is_left(caller: Caller) -> None:
    fault = {"kind": "bad_request", "endpoint": "restaurantRegistration", "times": 1}
    job_id, failed = await settled_with_faults(caller, fault)
    phases = failed["steps"][0]["sub_step_progress"]["phases"]
    assert (failed["status"], phases["phase1"]["status"]) == ("failed", "completed")
    await simulator(caller.client, "DELETE", "/_simulator/calls")
    status, body = await caller.post(f"{BASE}/jobs/{job_id}/resume-step-6")
    assert (status, body["resuming_from"], body["resume_plan"]["phase"]) == (
        200,
        "phase1",
        "phase2",
    )
    assert (await settled_job(caller, job_id))["status"] == "completed"
    calls = (await simulator(caller.client, "GET", "/_simulator/calls"))["calls"]
    called = {c["sub_step"] for c in calls if c.get("job") == job_id}
    assert "cloudwaitressAccount" not in called and "restaurantRegistration" in called


async def test_a_failure_blocks_dependents_then_a_manual_fix_lets_resume_finish(
    caller: Caller,
) -> None:
    job_id, failed = await settled_with_faults(
        caller, {"kind": "bad_request", "endpoint": "menuImport"}
    )
    phase3 = failed["steps"][0]["sub_step_progress"]["phases"]["phase3"]
    assert phase3["sub_steps"]["optionSets"]["status"] == "blocked"
    path = f"{BASE}/jobs/{job_id}/steps/6/sub-steps/menuImport"
    status, _ = await caller.patch(path, json={"status": "completed", "reason": "imported by hand"})
    assert status == 200
    status, body = await caller.post(f"{BASE}/jobs/{job_id}/resume-step-6")
    assert (status, body["resuming_from"]) == (200, "phase2")
    assert body["resume_plan"] == {"phase": "phase3", "sub_steps": ["optionSets", "itemTags"]}
    assert (await settled_job(caller, job_id))["status"] == "completed"
