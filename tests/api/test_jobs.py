"""Jobs over HTTP: detail, resume (Phase B), cancel, retry-now, events, state."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from api.services import SERVICES
from domain.plan import PLAN
from tests.api.conftest import BASE, PASSWORD, Caller, Client, refused_for, restaurant, run_job

MENU_CHAIN = ["menuImport", "optionSets", "itemTags"]
LATER_SUB_STEPS = [k for k in PLAN.keys if PLAN.phase_of(k) != "phase1"]


def phase(body: dict, name: str) -> dict:
    return body["job"]["steps"][0]["sub_step_progress"]["phases"][name]


class TestGetJob:
    async def test_shows_sub_step_progress_in_the_frontend_shape(self, org_a: Caller) -> None:
        job_id = await org_a.started_job()
        status, body = await org_a.get(f"{BASE}/jobs/{job_id}")
        assert status == 200
        job = body["job"]
        assert (job["id"], job["status"], job["steps"][0]["step_number"]) == (
            job_id,
            "in_progress",
            6,
        )
        sub_step = phase(body, "phase1")["sub_steps"]["cloudwaitressAccount"]
        assert set(sub_step) >= {
            "status",
            "attempts",
            "started_at",
            "completed_at",
            "error",
            "result",
        }
        assert isinstance(job["version"], int)

    async def test_unknown_and_malformed_ids_are_404(self, org_a: Caller) -> None:
        for job_id in (str(uuid.uuid4()), "123", "%20"):
            status, body = await org_a.get(f"{BASE}/jobs/{job_id}")
            assert (status, body["success"]) == (404, False)


async def resumed_after(caller: Caller, client: Client, **run: Any) -> tuple[str, int, Any]:
    """A job run by hand as `run_job` is told, then resumed: its id and the resume's answer."""
    job_id = await caller.started_job()
    run_job(client, job_id, **run)
    status, body = await caller.post(f"{BASE}/jobs/{job_id}/resume-step-6")
    return job_id, status, body


class TestResume:
    async def test_after_phase1_resumes_from_phase2(self, org_a: Caller, client: Client) -> None:
        job_id, status, body = await resumed_after(org_a, client, until="phase1")
        assert status == 200
        assert body == {
            "success": True,
            "message": "Resume initiated",
            "resuming_from": "phase1",
            "resume_plan": {"phase": "phase2", "sub_steps": LATER_SUB_STEPS},
            "dry_run": False,
        }
        _, job = await org_a.get(f"{BASE}/jobs/{job_id}")
        assert job["job"]["status"] == "in_progress"
        assert phase(job, "phase1")["status"] == "completed"

    async def test_failed_sub_step_gets_fresh_attempts(self, org_a: Caller, client: Client) -> None:
        job_id, status, body = await resumed_after(org_a, client, failing={"menuImport"})
        assert (status, body["resuming_from"]) == (200, "phase1")
        assert body["resume_plan"] == {"phase": "phase2", "sub_steps": MENU_CHAIN}
        _, job = await org_a.get(f"{BASE}/jobs/{job_id}")
        assert phase(job, "phase2")["sub_steps"]["menuImport"]["status"] == "pending"

    async def test_never_started_is_400_in_the_words_of_the_contract(self, org_a: Caller) -> None:
        """SPEC §9: 400 `No Step 6 progress to resume from` (a frontend may match the text)."""
        batch = await org_a.new_batch()
        status, body = await org_a.post(f"{BASE}/jobs/{batch['jobs'][0]['id']}/resume-step-6")
        assert status == 400
        assert body["message"].startswith("No Step 6 progress to resume from")

    async def test_running_job_is_409(self, org_a: Caller) -> None:
        job_id = await org_a.started_job()
        status, body = await org_a.post(f"{BASE}/jobs/{job_id}/resume-step-6")
        assert (status, body["success"]) == (409, False)

    async def test_completed_job_is_a_no_op_that_says_so(
        self, org_a: Caller, client: Client
    ) -> None:
        _, status, body = await resumed_after(org_a, client)
        assert status == 200
        assert body == {
            "success": True,
            "message": "Job already completed; nothing to resume",
            "resuming_from": "phase4",
            "resume_plan": {"phase": None, "sub_steps": []},
            "dry_run": False,
        }

    async def test_unknown_job_is_404(self, org_a: Caller) -> None:
        status, _ = await org_a.post(f"{BASE}/jobs/{uuid.uuid4()}/resume-step-6")
        assert status == 404


class TestCancel:
    async def test_cancels_a_running_job(self, org_a: Caller) -> None:
        job_id = await org_a.started_job()
        status, body = await org_a.post(
            f"{BASE}/jobs/{job_id}/cancel", json={"reason": "wrong menu"}
        )
        assert (status, body["success"]) == (200, True)
        _, job = await org_a.get(f"{BASE}/jobs/{job_id}")
        assert job["job"]["status"] == "cancelled"

    async def test_cancelling_a_completed_job_is_409(self, org_a: Caller, client: Client) -> None:
        job_id = await org_a.started_job()
        run_job(client, job_id)
        status, _ = await org_a.post(f"{BASE}/jobs/{job_id}/cancel")
        assert status == 409

    async def test_a_job_cancelled_before_the_start_is_left_by_the_batchs_start_and_resumable(
        self, org_a: Caller
    ) -> None:
        batch = await org_a.new_batch(restaurant("A"), restaurant("B"), restaurant("C"))
        cancelled, *others = [j["id"] for j in batch["jobs"]]
        status, _ = await org_a.post(f"{BASE}/jobs/{cancelled}/cancel", json={"reason": "later"})
        assert status == 200
        _, shown = await org_a.get(f"{BASE}/{batch['id']}/progress")
        assert shown["status"] == "pending", shown
        status, body = await org_a.post(f"{BASE}/{batch['id']}/step-6/start")
        assert status == 202, body
        assert sorted(body["started"]) == sorted(others)
        assert (body["already_started"], body["left_cancelled"]) == ([], [cancelled])
        _, job = await org_a.get(f"{BASE}/jobs/{cancelled}")
        assert job["job"]["status"] == "cancelled"
        status, body = await org_a.post(
            f"{BASE}/jobs/{cancelled}/resume-step-6", json={"reason": "customer back"}
        )
        assert (status, body["success"]) == (200, True), body
        _, job = await org_a.get(f"{BASE}/jobs/{cancelled}")
        assert job["job"]["status"] == "in_progress"
        _, log = await org_a.get(f"{BASE}/jobs/{cancelled}/events")
        started = [e for e in log["events"] if e["type"] == "Step6Started"]
        assert [e["reason"] for e in started] == ["customer back"], "the resume's reason is kept"

    async def test_a_start_naming_a_job_cancelled_before_the_start_starts_it(
        self, org_a: Caller
    ) -> None:
        batch = await org_a.new_batch()
        [job_id] = [j["id"] for j in batch["jobs"]]
        await org_a.post(f"{BASE}/jobs/{job_id}/cancel")
        path = f"{BASE}/{batch['id']}/step-6/start"
        status, body = await org_a.post(path, json={"job_ids": [job_id]})
        assert (status, body["started"]) == (202, [job_id]), body

    async def test_unknown_field_is_422(self, org_a: Caller) -> None:
        job_id = await org_a.started_job()
        answer = await org_a.post(f"{BASE}/jobs/{job_id}/cancel", json={"reasn": "typo"})
        refused_for(answer, 422, "reasn")


def wait_to_retry(client: Client, job_id: str) -> None:
    """The job's first sub-step failed once and waits ten minutes for its next attempt."""
    store = client.app[SERVICES].app
    job = store.job(job_id)
    job.start_sub_step("cloudwaitressAccount")
    job.schedule_retry("cloudwaitressAccount", "HTTP 503", delay=600)
    client.app[SERVICES].views.wait_for(store.store(job).position)


class TestRetryNow:
    async def test_a_waiting_sub_step_is_tried_at_once(self, org_a: Caller, client: Client) -> None:
        job_id = await org_a.started_job()
        wait_to_retry(client, job_id)
        path = f"{BASE}/jobs/{job_id}/steps/6/sub-steps/cloudwaitressAccount/retry-now"
        status, body = await org_a.post(path)
        assert (status, body["sub_step"]) == (200, "cloudwaitressAccount")
        _, events = await org_a.get(f"{BASE}/jobs/{job_id}/events")
        assert events["events"][-1]["type"] == "SubStepRetryRequested"

    async def test_of_simultaneous_requests_one_is_taken_and_the_others_changed_nothing(
        self, org_a: Caller, client: Client
    ) -> None:
        """Each wait is cut once: of many retry-nows sent at once, one answers 200 and records
        the request; the others answer 409, told the next attempt is due already. A later wait
        of the same sub-step can be cut again, once."""
        job_id = await org_a.started_job()
        store = client.app[SERVICES].app
        path = f"{BASE}/jobs/{job_id}/steps/6/sub-steps/cloudwaitressAccount/retry-now"
        for _ in range(3):
            wait_to_retry(client, job_id)
            answers = await asyncio.gather(*(org_a.post(path) for _ in range(16)))
            assert sorted(status for status, _ in answers) == [200] + [409] * 15
            refusals = {body["message"] for status, body in answers if status == 409}
            assert refusals == {
                "Cannot retry cloudwaitressAccount now: a retry now was already asked;"
                " its next attempt is due"
            }
        kinds = [type(e).__name__ for e in store.events.get(uuid.UUID(job_id))]
        assert kinds.count("SubStepRetryRequested") == 3

    async def test_its_body_is_read_as_every_command_reads_one(
        self, org_a: Caller, client: Client
    ) -> None:
        """A body nobody listed was taken and thrown away, a reason too: now one it cannot read
        is refused before anything is recorded, and a reason is recorded."""
        job_id = await org_a.started_job()
        store = client.app[SERVICES].app
        wait_to_retry(client, job_id)
        version = store.job(job_id).version
        path = f"{BASE}/jobs/{job_id}/steps/6/sub-steps/cloudwaitressAccount/retry-now"
        for bad in ({"bogus": 1}, [], "now", {"reason": 5}, {"reason": "x" * 5000}):
            status, body = await org_a.post(path, json=bad)
            assert status in (400, 422) and body["errors"], (bad, body)
        assert store.job(job_id).version == version, "nothing was recorded"
        status, _ = await org_a.post(path, json={"reason": "customer is waiting"})
        assert status == 200
        _, events = await org_a.get(f"{BASE}/jobs/{job_id}/events")
        cut = events["events"][-1]
        assert (cut["type"], cut["reason"]) == ("SubStepRetryRequested", "customer is waiting")

    async def test_a_sub_step_not_waiting_is_409(self, org_a: Caller) -> None:
        job_id = await org_a.started_job()
        status, _ = await org_a.post(f"{BASE}/jobs/{job_id}/steps/6/sub-steps/menuImport/retry-now")
        assert status == 409

    async def test_unknown_sub_step_is_404(self, org_a: Caller) -> None:
        job_id = await org_a.started_job()
        status, body = await org_a.post(f"{BASE}/jobs/{job_id}/steps/6/sub-steps/nope/retry-now")
        assert (status, body["message"]) == (404, "Unknown sub-step: nope")


class TestEvents:
    async def test_pages_through_the_timeline(self, org_a: Caller) -> None:
        job_id = await org_a.started_job()
        status, first = await org_a.get(f"{BASE}/jobs/{job_id}/events", params={"limit": "1"})
        assert status == 200
        assert [e["version"] for e in first["events"]] == [1]
        assert first["events"][0]["type"] == "JobCreated"
        assert first["next_after_version"] == 1
        _, rest = await org_a.get(
            f"{BASE}/jobs/{job_id}/events", params={"after_version": first["next_after_version"]}
        )
        assert rest["events"][0]["version"] == 2
        assert {"version", "type", "at", "actor", "reason", "data"} <= set(rest["events"][0])

    async def test_secrets_are_redacted(self, org_a: Caller) -> None:
        job_id = await org_a.started_job()
        _, body = await org_a.get(f"{BASE}/jobs/{job_id}/events")
        assert PASSWORD not in str(body)
        created = body["events"][0]["data"]
        assert created["execution_config"]["account"]["password"] == "***"

    async def test_bad_paging_is_400(self, org_a: Caller) -> None:
        job_id = await org_a.started_job()
        status, _ = await org_a.get(f"{BASE}/jobs/{job_id}/events", params={"after_version": "-1"})
        assert status == 400


class TestState:
    async def test_state_at_a_version(self, org_a: Caller, client: Client) -> None:
        job_id = await org_a.started_job()
        run_job(client, job_id)
        status, body = await org_a.get(f"{BASE}/jobs/{job_id}/state", params={"version": "1"})
        assert status == 200
        assert (body["version"], body["status"]) == (1, "pending")
        _, now = await org_a.get(f"{BASE}/jobs/{job_id}/state")
        assert now["status"] == "completed"
        assert now["sub_step_progress"]["context"]["codeInjectionId"] == "ci-1"

    async def test_state_at_a_time(self, org_a: Caller, client: Client) -> None:
        job_id = await org_a.started_job()
        before_run = datetime.now(UTC).isoformat()
        run_job(client, job_id)
        status, body = await org_a.get(f"{BASE}/jobs/{job_id}/state", params={"at": before_run})
        assert status == 200
        assert body["status"] == "in_progress"
        assert body["sub_step_progress"]["context"]["codeInjectionId"] is None

    async def test_before_the_job_existed_is_404(self, org_a: Caller) -> None:
        job_id = await org_a.started_job()
        status, _ = await org_a.get(
            f"{BASE}/jobs/{job_id}/state", params={"at": "2001-01-01T00:00:00Z"}
        )
        assert status == 404

    async def test_a_version_not_reached_is_404(self, org_a: Caller) -> None:
        job_id = await org_a.started_job()
        status, _ = await org_a.get(f"{BASE}/jobs/{job_id}/state", params={"version": "9999"})
        assert status == 404

    async def test_a_malformed_time_is_400(self, org_a: Caller) -> None:
        job_id = await org_a.started_job()
        answer = await org_a.get(f"{BASE}/jobs/{job_id}/state", params={"at": "yesterday"})
        refused_for(answer, 400, "at")


class TestCompletionTimes:
    async def test_a_sub_step_tried_again_after_a_resume_shows_none_until_it_finishes(
        self, org_a: Caller, client: Client
    ) -> None:
        """Its detail (the views) and its state (folded from the log) agree at every version:
        running or waiting for another attempt, no completion time, the last error kept."""
        job_id = await org_a.started_job()
        run_job(client, job_id, failing={"menuImport"})
        assert (await org_a.post(f"{BASE}/jobs/{job_id}/resume-step-6"))[0] == 200
        store = client.app[SERVICES].app
        job = store.job(job_id)
        job.claim("test-worker")
        steps = [
            lambda: job.start_sub_step("menuImport"),
            lambda: job.schedule_retry("menuImport", "HTTP 503", delay=600),
            lambda: job.start_sub_step("menuImport"),
            lambda: job.complete_sub_step("menuImport", {}),
        ]
        seen = []
        for step in steps:
            step()
            client.app[SERVICES].views.wait_for(store.store(job).position)
            _, detail = await org_a.get(f"{BASE}/jobs/{job_id}")
            _, state = await org_a.get(f"{BASE}/jobs/{job_id}/state")
            shown = detail["job"]["steps"][0]["sub_step_progress"]
            for progress in (shown, state["sub_step_progress"]):
                entry = progress["phases"]["phase2"]["sub_steps"]["menuImport"]
                seen.append((entry["status"], entry["completed_at"] is None, entry["error"]))
        assert seen == [
            ("in_progress", True, "HTTP 400: rejected"),
            ("in_progress", True, "HTTP 400: rejected"),
            ("retrying", True, "HTTP 503"),
            ("retrying", True, "HTTP 503"),
            ("in_progress", True, "HTTP 503"),
            ("in_progress", True, "HTTP 503"),
            ("completed", False, None),
            ("completed", False, None),
        ]
