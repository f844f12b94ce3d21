"""A job cancelled while a call was in flight, whose worker never came back (the tester's
SIGKILL, played without an engine): once the worker's lease has expired, nobody will record the
call's outcome. An edit records the call interrupted, then itself, in one save; a dry run and
the validation answer as that edit would find the sub-step (SPEC section 6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.services import SERVICES
from infrastructure.engine import Leases
from infrastructure.lease_reads import StoreLeases
from tests.api.conftest import BASE, Caller, Client
from tests.api.test_edits import (
    IN_FLIGHT_EDITS,
    LEASE_SECONDS,
    WORKER,
    cancelled_in_flight,
    mark,
    statuses,
    sub_steps,
)

KEY = "restaurantRegistration"


def past_the_lease(client: Client) -> None:
    """Move the clock the app judges leases by past the worker's lease: it never renewed it."""
    store = client.app[SERVICES].app
    later = datetime.now(UTC) + timedelta(seconds=LEASE_SECONDS + 1)
    store.leases = StoreLeases(store.recorder, clock=lambda: later)


async def event_types(caller: Caller, job_id: str) -> list[str]:
    _, body = await caller.get(f"{BASE}/jobs/{job_id}/events")
    return [event["type"] for event in body["events"]]


async def edit(caller: Caller, job_id: str, name: str, dry_run: bool) -> tuple[int, Any]:
    method, path, body = IN_FLIGHT_EDITS[name]
    url = f"{sub_steps(job_id)}/{path}".rstrip("/")
    return await caller.call(method, url, json=body | {"reason": "by hand", "dry_run": dry_run})


class TestACallInFlightWhoseWorkerIsGone:
    async def test_marking_it_completed_records_the_interruption_then_the_edit(
        self, org_a: Caller, client: Client, leases: Leases
    ) -> None:
        job_id = await cancelled_in_flight(org_a, client, leases)
        before = await event_types(org_a, job_id)
        past_the_lease(client)
        status, body = await mark(org_a, job_id, KEY, "completed", reason="done by hand")
        assert (status, body["status"], body["job_status"]) == (200, "completed", "cancelled")
        recorded = (await event_types(org_a, job_id))[len(before) :]
        assert recorded[:2] == ["SubStepInterrupted", "ManualStatusSet"], recorded
        assert recorded.count("SubStepInterrupted") == 1
        assert (await statuses(org_a, job_id))[KEY] == "completed"

    async def test_the_interruption_an_edit_records_is_the_operators(
        self, org_a: Caller, client: Client, leases: Leases
    ) -> None:
        job_id = await cancelled_in_flight(org_a, client, leases)
        past_the_lease(client)
        await mark(org_a, job_id, KEY, "completed", reason="done by hand")
        _, body = await org_a.get(f"{BASE}/jobs/{job_id}/events")
        actors = {e["type"]: (e["actor"], e["data"].get("actor")) for e in body["events"]}
        operator = actors["ManualStatusSet"][0]
        assert operator != "engine"
        assert actors["SubStepInterrupted"] == (operator, operator)

    async def test_its_validation_says_it_is_editable(
        self, org_a: Caller, client: Client, leases: Leases
    ) -> None:
        job_id = await cancelled_in_flight(org_a, client, leases)
        past_the_lease(client)
        status, body = await org_a.get(f"{sub_steps(job_id)}/{KEY}/validation")
        assert (status, body["editable"], body["status"]) == (200, True, "retrying")
        assert {t: a["valid"] for t, a in body["transitions"].items()} == {
            "completed": True,
            "failed": True,
            "skipped": True,
            "pending": True,
        }

    async def test_a_dry_run_answers_as_the_edit_would_and_records_nothing(
        self, org_a: Caller, client: Client, leases: Leases
    ) -> None:
        job_id = await cancelled_in_flight(org_a, client, leases)
        before = await event_types(org_a, job_id)
        past_the_lease(client)
        status, body = await edit(org_a, job_id, "reset", dry_run=True)
        assert (status, body["reset"], body["dry_run"]) == (200, [KEY], True)
        assert await event_types(org_a, job_id) == before
        assert (await statuses(org_a, job_id))[KEY] == "in_progress"

    @pytest.mark.parametrize("name", sorted(IN_FLIGHT_EDITS))
    async def test_no_edit_waits_for_it_and_each_records_it_interrupted_once(
        self, org_a: Caller, client: Client, leases: Leases, name: str
    ) -> None:
        job_id = await cancelled_in_flight(org_a, client, leases)
        before = await event_types(org_a, job_id)
        past_the_lease(client)
        status, body = await edit(org_a, job_id, name, dry_run=False)
        recorded = (await event_types(org_a, job_id))[len(before) :]
        if status == 422:  # judged by the editing rules alone: the sub-step waits to retry
            assert any(f"{KEY} is retrying" in e for e in body["errors"]), body
            assert recorded == ["EditRefused"]
            return
        assert status == 200, body
        assert recorded[0] == "SubStepInterrupted" and recorded.count("SubStepInterrupted") == 1
        assert (await statuses(org_a, job_id))[KEY] != "in_progress"

    async def test_a_worker_that_gave_its_lease_back_left_no_call_to_wait_for(
        self, org_a: Caller, client: Client, leases: Leases
    ) -> None:
        job_id = await cancelled_in_flight(org_a, client, leases)
        before = await event_types(org_a, job_id)
        leases.release([job_id], WORKER)  # a worker stopping gives its leases back
        status, body = await mark(org_a, job_id, KEY, "failed", reason="not done")
        assert (status, body["status"]) == (200, "failed")
        recorded = (await event_types(org_a, job_id))[len(before) :]
        assert recorded[:2] == ["SubStepInterrupted", "ManualStatusSet"], recorded
