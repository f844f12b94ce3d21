"""The seed's resume contract through HTTP, with the engine and the embedded simulator."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import BASE, Caller, restaurant
from tests.api.test_engine_flows import (
    caller,
    engine_client,
    settled_job,
    settled_with_faults,
    simulator,
)

__all__ = ["caller", "engine_client"]
MENU_FAILS_ONCE = {"kind": "bad_request", "endpoint": "menuImport", "times": 1}
MENU_CHAIN = ["menuImport", "optionSets", "itemTags"]
PHASE_OF_CHAIN = (("phase3", "optionSets"), ("phase4", "itemTags"))


async def calls_of(caller: Caller, job_id: str) -> list[dict[str, Any]]:
    calls = (await simulator(caller.client, "GET", "/_simulator/calls"))["calls"]
    return [c for c in calls if c.get("job") == job_id]


def progress(job: dict[str, Any]) -> dict[str, Any]:
    return dict(job["steps"][0]["sub_step_progress"])


async def test_buzz_resumes_after_phase1_with_only_the_menu_chain(caller: Caller) -> None:
    job_id, failed = await settled_with_faults(caller, MENU_FAILS_ONCE)
    shown = {
        k: s["status"]
        for p in progress(failed)["phases"].values()
        for k, s in p["sub_steps"].items()
    }
    assert [k for k, s in shown.items() if s != "completed"] == MENU_CHAIN
    await simulator(caller.client, "DELETE", "/_simulator/calls")
    status, body = await caller.post(f"{BASE}/jobs/{job_id}/resume-step-6")
    assert (status, body["resuming_from"]) == (200, "phase1")
    assert body["resume_plan"] == {"phase": "phase2", "sub_steps": MENU_CHAIN}
    assert (await settled_job(caller, job_id))["status"] == "completed"
    calls = [c for c in await calls_of(caller, job_id) if c["executed"]]
    assert sorted(c["sub_step"] for c in calls) == sorted(MENU_CHAIN)
    menu = next(c for c in calls if c["sub_step"] == "menuImport")
    assert (menu["generation"], menu["key"]) == ("2", f"{job_id}:menuImport:2")


async def test_resume_event_and_timeline_say_what_the_answer_said(caller: Caller) -> None:
    job_id, _ = await settled_with_faults(caller, MENU_FAILS_ONCE)
    _, answer = await caller.post(f"{BASE}/jobs/{job_id}/resume-step-6")
    await settled_job(caller, job_id)
    _, body = await caller.get(f"{BASE}/jobs/{job_id}/events", params={"limit": "1000"})
    [resumed] = [e for e in body["events"] if e["type"] == "ResumeRequested"]
    assert resumed["data"]["resuming_from"] == answer["resuming_from"]
    assert resumed["data"]["resume_plan"] == answer["resume_plan"]
    assert "last complete phase phase1, resumes in phase2 with menuImport" in resumed["description"]
    words = {}
    for event in body["events"]:
        if event["type"] in ("PhaseCompleted", "PhaseReopened"):
            words[event["data"]["phase"]] = event["data"]["status"]
    assert words == {
        "phase1": "completed",
        "phase2": "completed",
        "phase3": "completed",
        "phase4": "completed",
    }


async def test_a_skipped_menu_import_skips_option_sets_and_item_tags_without_a_call(
    caller: Caller,
) -> None:
    batch = await caller.new_batch(restaurant(skip=["menuImport"]))
    job_id = batch["jobs"][0]["id"]
    status, _ = await caller.post(f"{BASE}/{batch['id']}/step-6/start")
    assert status == 202
    done = await settled_job(caller, job_id)
    assert done["status"] == "completed"
    phases = progress(done)["phases"]
    for phase, key in (("phase3", "optionSets"), ("phase4", "itemTags")):
        sub = phases[phase]["sub_steps"][key]
        assert (sub["status"], sub["reason"]) == ("skipped", "menu import did not succeed")
    called = {c["sub_step"] for c in await calls_of(caller, job_id)}
    assert called and not called & {"menuImport", "optionSets", "itemTags"}


async def test_a_dry_run_answers_the_plan_and_records_nothing(caller: Caller) -> None:
    job_id, before = await settled_with_faults(caller, MENU_FAILS_ONCE)
    status, body = await caller.post(f"{BASE}/jobs/{job_id}/resume-step-6", json={"dry_run": True})
    assert (status, body["dry_run"], body["resume_plan"]["sub_steps"]) == (200, True, MENU_CHAIN)
    _, after = await caller.get(f"{BASE}/jobs/{job_id}")
    assert (after["job"]["status"], after["job"]["version"]) == ("failed", before["version"])


async def test_menu_import_skipped_by_hand_then_resumed_completes_without_the_menu_chain(
    caller: Caller,
) -> None:
    job_id, _ = await settled_with_faults(caller, {"kind": "bad_request", "endpoint": "menuImport"})
    path = f"{BASE}/jobs/{job_id}/steps/6/sub-steps/menuImport"
    status, edit = await caller.patch(path, json={"status": "skipped", "reason": "no menu yet"})
    assert status == 200
    assert edit["warnings"] == [
        "Marking menuImport as skipped skips optionSets, itemTags: menu import did not succeed",
        "every sub-step is settled: the job stays failed until it is resumed",
    ]
    await simulator(caller.client, "DELETE", "/_simulator/calls")
    status, body = await caller.post(f"{BASE}/jobs/{job_id}/resume-step-6")
    assert (status, body["resuming_from"], body["resume_plan"]) == (
        200,
        "phase4",
        {"phase": None, "sub_steps": []},
    )
    assert (await settled_job(caller, job_id))["status"] == "completed"
    assert await calls_of(caller, job_id) == []


async def test_menu_import_completed_by_hand_after_its_skip_runs_the_menu_chain_on_resume(
    caller: Caller,
) -> None:
    """The rule skipped optionSets and itemTags when menuImport was skipped by hand; once the
    operator says the menu was imported after all, they are pending again and the resume
    runs them (they stayed skipped, and the job completed without them)."""
    job_id, _ = await settled_with_faults(caller, {"kind": "bad_request", "endpoint": "menuImport"})
    path = f"{BASE}/jobs/{job_id}/steps/6/sub-steps/menuImport"
    status, _ = await caller.patch(path, json={"status": "skipped", "reason": "menu later"})
    assert status == 200
    done = {"status": "completed", "reason": "imported by hand", "result": {"menuId": "m-9"}}
    warning = (
        "optionSets, itemTags, skipped by the menu rule, become pending again: "
        "the menu import succeeded after all"
    )
    status, dry = await caller.patch(path, json=done | {"dry_run": True})
    assert (status, dry["dry_run"]) == (200, True)
    assert warning in dry["warnings"]
    status, made = await caller.patch(path, json=done)
    assert (status, made["warnings"]) == (200, dry["warnings"])
    _, job = await caller.get(f"{BASE}/jobs/{job_id}")
    phases = progress(job["job"])["phases"]
    assert [phases[p]["sub_steps"][k]["status"] for p, k in PHASE_OF_CHAIN] == ["pending"] * 2
    await simulator(caller.client, "DELETE", "/_simulator/calls")
    status, body = await caller.post(f"{BASE}/jobs/{job_id}/resume-step-6")
    assert (status, body["resume_plan"]["sub_steps"]) == (200, ["optionSets", "itemTags"])
    assert (await settled_job(caller, job_id))["status"] == "completed"
    executed = sorted(c["sub_step"] for c in await calls_of(caller, job_id) if c["executed"])
    assert executed == ["itemTags", "optionSets"]
    _, events = await caller.get(f"{BASE}/jobs/{job_id}/events", params={"limit": "1000"})
    reopened = [e for e in events["events"] if e["type"] == "SubStepReopened"]
    assert [e["data"]["sub_step"] for e in reopened] == ["optionSets", "itemTags"]
    assert {e["description"] for e in reopened} == {
        "optionSets pending again: the menu import succeeded after all",
        "itemTags pending again: the menu import succeeded after all",
    }
