"""Manual editing over HTTP (Phase C): mark, refuse, reset with cascade, bulk, dry run."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import pytest

from api.routes import ROUTES
from api.routing import Route
from api.schemas.requests import (
    Body,
    Query,
    known_body_fields,
    known_parameters,
    parameter_names,
)
from api.services import SERVICES
from domain.plan import PLAN
from infrastructure.engine import Leases
from tests.api.conftest import BASE, RESULTS, Caller, Client, refused_for, restaurant, run_job

REASON = "done by hand in the CloudWaitress admin"


def sub_steps(path: str) -> str:
    return f"{BASE}/jobs/{path}/steps/6/sub-steps"


async def mark(
    caller: Caller, job_id: str, key: str, status: str, reason: str | None = REASON, **more: Any
) -> tuple[int, Any]:
    """PATCH one sub-step's status by hand (with no reason when `reason` is None)."""
    body = {"status": status} | ({"reason": reason} if reason is not None else {}) | more
    return await caller.patch(f"{sub_steps(job_id)}/{key}", json=body)


async def statuses(caller: Caller, job_id: str) -> dict[str, str]:
    _, body = await caller.get(f"{BASE}/jobs/{job_id}")
    phases = body["job"]["steps"][0]["sub_step_progress"]["phases"]
    return {k: v["status"] for p in phases.values() for k, v in p["sub_steps"].items()}


async def failed_job(caller: Caller, client: Client, *failing: str) -> str:
    job_id = await caller.started_job()
    run_job(client, job_id, failing=set(failing))
    return job_id


class TestMarkSubStep:
    async def test_completed_with_valid_dependencies(self, org_a: Caller, client: Client) -> None:
        job_id = await failed_job(org_a, client, "websiteConfig")
        status, body = await mark(
            org_a, job_id, "websiteConfig", "completed", result={"url": "https://buzz.nz"}
        )
        assert status == 200
        # the job's one failure mended: nothing is left but the resume that completes it
        assert (body["sub_step"], body["status"], body["warnings"]) == (
            "websiteConfig",
            "completed",
            ["every sub-step is settled: the job stays failed until it is resumed"],
        )
        assert isinstance(body["version"], int)
        assert (await statuses(org_a, job_id))["websiteConfig"] == "completed"

    async def test_failed_dependency_refuses_with_the_exact_error(
        self, org_a: Caller, client: Client
    ) -> None:
        job_id = await failed_job(org_a, client, "restaurantRegistration")
        status, body = await mark(org_a, job_id, "websiteConfig", "completed")
        assert status == 422
        assert body["success"] is False
        assert body["errors"] == [
            "Cannot mark websiteConfig as completed: restaurantRegistration is failed"
        ]
        assert (await statuses(org_a, job_id))["websiteConfig"] == "blocked"

    async def test_refused_edit_is_audited(self, org_a: Caller, client: Client) -> None:
        job_id = await failed_job(org_a, client, "restaurantRegistration")
        await mark(org_a, job_id, "websiteConfig", "completed")
        _, events = await org_a.get(f"{BASE}/jobs/{job_id}/events")
        refused = events["events"][-1]
        assert (refused["type"], refused["actor"]) == ("EditRefused", f"key:{org_a.org}")
        assert refused["reason"] == refused["data"]["edit"]["reason"] != None  # noqa: E711

    async def test_marking_failed_warns_of_blocked_dependents(
        self, org_a: Caller, client: Client
    ) -> None:
        job_id = await org_a.started_job()
        run_job(client, job_id, until="phase1")
        status, body = await mark(org_a, job_id, "menuImport", "failed", reason="no menu yet")
        assert status == 200
        assert body["warnings"] == ["Marking menuImport as failed blocks optionSets, itemTags"]

    async def test_dry_run_changes_nothing(self, org_a: Caller, client: Client) -> None:
        job_id = await failed_job(org_a, client, "websiteConfig")
        status, body = await mark(org_a, job_id, "websiteConfig", "completed", dry_run=True)
        assert (status, body["dry_run"]) == (200, True)
        assert (await statuses(org_a, job_id))["websiteConfig"] == "failed"

    async def test_a_dry_run_needs_no_reason(self, org_a: Caller, client: Client) -> None:
        job_id = await failed_job(org_a, client, "websiteConfig")
        status, body = await org_a.post(
            f"{sub_steps(job_id)}/codeGeneration/reset", json={"dry_run": True}
        )
        assert (status, body["reset"]) == (200, ["codeGeneration", "websiteConfig"])

    async def test_running_job_is_409(self, org_a: Caller) -> None:
        job_id = await org_a.started_job()
        status, _ = await mark(org_a, job_id, "cloudwaitressAccount", "skipped", reason="x")
        assert status == 409

    async def test_unknown_status_is_422_and_unknown_sub_step_404(self, org_a: Caller) -> None:
        job_id = (await org_a.new_batch())["jobs"][0]["id"]
        refused_for(await mark(org_a, job_id, "menuImport", "done", reason="x"), 422, "status")
        status, _ = await mark(org_a, job_id, "nope", "skipped", reason="x")
        assert status == 404

    async def test_missing_reason_is_422(self, org_a: Caller) -> None:
        job_id = (await org_a.new_batch())["jobs"][0]["id"]
        status, body = await mark(org_a, job_id, "menuImport", "skipped", reason=None)
        assert (status, body["message"]) == (422, "A reason is required for manual edits")


@pytest.mark.parametrize("status", ["failed", "skipped", "pending"])
async def test_a_result_is_taken_only_with_status_completed(
    org_a: Caller, client: Client, status: str
) -> None:
    """A skipped sub-step was stored with the result sent beside it, and showed it."""
    job_id = await failed_job(org_a, client)
    _, before = await org_a.get(f"{BASE}/jobs/{job_id}")
    answer = await mark(org_a, job_id, "uploadImages", status, result={"codeInjectionId": "ci-X"})
    refused_for(answer, 422, "uploadImages.result")
    _, after = await org_a.get(f"{BASE}/jobs/{job_id}")
    progress = after["job"]["steps"][0]["sub_step_progress"]
    assert progress == before["job"]["steps"][0]["sub_step_progress"]
    bulk = {"updates": [{"sub_step": "uploadImages", "status": status, "result": {"a": 1}}]}
    refused_for(
        await org_a.patch(sub_steps(job_id), json=bulk | {"reason": "r"}),
        422,
        "uploadImages.result",
    )
    status_code, _ = await mark(org_a, job_id, "uploadImages", status, result={})
    assert status_code == 200


async def last_error(caller: Caller, job_id: str) -> str | None:
    """The job's summary `last_error`, as its batch's page of jobs shows it."""
    _, shown = await caller.get(f"{BASE}/jobs/{job_id}")
    _, page = await caller.get(f"{BASE}/{shown['job']['batch_id']}/jobs")
    (summary,) = [j for j in page["jobs"] if j["id"] == job_id]
    return summary["last_error"]


async def test_the_last_error_is_shown_while_a_failure_stands_behind_it(
    org_a: Caller, client: Client
) -> None:
    """A failure mended by hand (marked completed, reset) still showed as the job's last error."""
    job_id = await failed_job(org_a, client, "websiteConfig", "paymentConfig")
    assert await last_error(org_a, job_id) == "websiteConfig: HTTP 400: rejected"
    assert (await mark(org_a, job_id, "websiteConfig", "completed"))[0] == 200
    assert await last_error(org_a, job_id) == "paymentConfig: HTTP 400: rejected"
    assert (await mark(org_a, job_id, "paymentConfig", "pending"))[0] == 200
    assert await last_error(org_a, job_id) is None
    assert (await mark(org_a, job_id, "paymentConfig", "failed", "card declined"))[0] == 200
    assert await last_error(org_a, job_id) == "paymentConfig: marked failed: card declined"


async def test_a_failure_mended_then_marked_failed_again_shows_its_new_error(
    org_a: Caller, client: Client
) -> None:
    """A tester's sequence: the engine's HTTP 400 mended by hand, then the sub-step marked
    failed again: the job showed the mended HTTP 400, not the operator's failure."""
    job_id = await failed_job(org_a, client, "websiteConfig")
    assert await last_error(org_a, job_id) == "websiteConfig: HTTP 400: rejected"
    assert (await mark(org_a, job_id, "websiteConfig", "completed"))[0] == 200
    assert await last_error(org_a, job_id) is None
    assert (await mark(org_a, job_id, "websiteConfig", "failed", "undone by hand"))[0] == 200
    shown = "websiteConfig: marked failed: undone by hand"
    assert await last_error(org_a, job_id) == shown
    assert (await mark(org_a, job_id, "servicesConfig", "failed", "also undone"))[0] == 200
    assert await last_error(org_a, job_id) == shown, "the failure recorded last still stands"
    _, found = await org_a.get(f"{BASE}/jobs/{job_id}")
    assert found["job"]["last_error"] == shown


@pytest.mark.parametrize(
    ("path", "body", "query"),
    [
        ("websiteConfig", {"status": "completed", "reason": REASON}, {"dry_run": "true"}),
        ("websiteConfig", {"status": "completed"}, {"reason": "in the query"}),
        ("websiteConfig/reset", {"reason": REASON}, {"dry_run": "1", "_": "cache"}),
        ("", {"updates": [{"sub_step": "websiteConfig", "status": "completed"}]}, {"reason": "q"}),
    ],
)
async def test_a_body_field_sent_in_the_query_is_refused_and_nothing_is_done(
    org_a: Caller, client: Client, path: str, body: dict[str, Any], query: dict[str, str]
) -> None:
    """A tester's `PATCH ...?dry_run=true`: the query's unknown parameters are ignored, so the
    edit meant as a dry run was made. A field of the body named in the query is 400."""
    job_id = await failed_job(org_a, client, "websiteConfig")
    _, before = await org_a.get(f"{BASE}/jobs/{job_id}/events", params={"limit": "1000"})
    url = f"{sub_steps(job_id)}/{path}".rstrip("/")
    method = org_a.post if path.endswith("reset") else org_a.patch
    status, answer = await method(url, json=body, params=query)
    assert status == 400, answer
    assert all("not a query parameter" in e for e in answer["errors"]), answer
    assert not any(e.startswith("_:") for e in answer["errors"]), "a cache buster is ignored"
    _, after = await org_a.get(f"{BASE}/jobs/{job_id}/events", params={"limit": "1000"})
    assert after == before


@pytest.mark.parametrize("bulk", [False, True])
async def test_a_dry_run_without_a_reason_warns_that_the_edit_needs_one(
    org_a: Caller, client: Client, bulk: bool
) -> None:
    """It answered success, and the same edit sent for real was refused for want of a reason."""
    job_id = await failed_job(org_a, client)
    edit = {"sub_step": "paymentConfig", "status": "skipped"}
    for reason in (None, "r"):
        given = {"reason": reason} if reason else {}
        if bulk:
            body = {"updates": [edit], "dry_run": True} | given
            status, answer = await org_a.patch(sub_steps(job_id), json=body)
        else:
            status, answer = await mark(
                org_a, job_id, "paymentConfig", "skipped", reason, dry_run=True
            )
        assert status == 200, answer
        needs = [w for w in answer["warnings"] if w.startswith("a reason is required")]
        assert len(needs) == (0 if reason else 1), answer
    real = await mark(org_a, job_id, "paymentConfig", "skipped", None)
    assert real[0] == 422


class TestReset:
    @pytest.mark.parametrize("dry_run", [True, False])
    async def test_a_reset_answers_as_an_edit_to_pending_does(
        self, org_a: Caller, client: Client, dry_run: bool
    ) -> None:
        """Both name the cascade and warn alike (here: the sub-steps the execution_config
        switches off are kept), for every sub-step of a completed job."""

        async def completed_job() -> str:
            job_id = await org_a.started_job(skip=["servicesConfig", "syncOnboardingUser"])
            run_job(client, job_id)
            return job_id

        seen_warnings = False
        twins = [await completed_job(), await completed_job()]
        for key in PLAN.keys:
            if not dry_run:  # a reset made reopens the job: each key on jobs of its own
                twins = [await completed_job(), await completed_job()]
            body = {"reason": "again", "dry_run": dry_run}
            reset = await org_a.post(f"{sub_steps(twins[0])}/{key}/reset", json=body)
            edit = await mark(org_a, twins[1], key, "pending", reason="again", dry_run=dry_run)
            assert reset[0] == edit[0], (key, reset, edit)
            if reset[0] != 200:
                assert reset[1]["errors"] == edit[1]["errors"], key
                continue
            assert (reset[1]["reset"], reset[1]["warnings"]) == (
                edit[1]["reset"],
                edit[1]["warnings"],
            ), key
            seen_warnings = seen_warnings or bool(reset[1]["warnings"])
        assert seen_warnings

    async def test_cascades_to_dependents(self, org_a: Caller, client: Client) -> None:
        job_id = await failed_job(org_a, client)
        status, body = await org_a.post(
            f"{sub_steps(job_id)}/menuImport/reset", json={"reason": "menu changed"}
        )
        assert status == 200
        assert body["reset"] == ["menuImport", "optionSets", "itemTags"]
        after = await statuses(org_a, job_id)
        assert [after[k] for k in body["reset"]] == ["pending"] * 3
        assert after["restaurantRegistration"] == "completed"

    async def test_reopens_a_completed_job(self, org_a: Caller, client: Client) -> None:
        job_id = await failed_job(org_a, client)
        _, body = await org_a.post(f"{sub_steps(job_id)}/itemTags/reset", json={"reason": "again"})
        assert body["job_status"] == "pending"

    async def test_dry_run_lists_the_cascade_only(self, org_a: Caller, client: Client) -> None:
        job_id = await failed_job(org_a, client)
        status, body = await org_a.post(
            f"{sub_steps(job_id)}/restaurantRegistration/reset",
            json={"reason": "r", "dry_run": True},
        )
        assert status == 200
        assert body["reset"][0] == "restaurantRegistration" and "itemTags" in body["reset"]
        assert (await statuses(org_a, job_id))["restaurantRegistration"] == "completed"


class TestBulkEdit:
    async def test_applies_every_edit_in_order(self, org_a: Caller, client: Client) -> None:
        job_id = await failed_job(org_a, client, "restaurantRegistration")
        updates = [
            {"sub_step": "restaurantRegistration", "status": "completed", "reason": REASON},
            {"sub_step": "websiteConfig", "status": "completed", "reason": REASON},
        ]
        status, body = await org_a.patch(sub_steps(job_id), json={"updates": updates})
        assert status == 200
        assert [u["status"] for u in body["updates"]] == ["completed", "completed"]
        after = await statuses(org_a, job_id)
        assert (after["restaurantRegistration"], after["websiteConfig"]) == (
            "completed",
            "completed",
        )

    @pytest.mark.parametrize(
        ("reason", "own"),
        [
            ("ticket-42", ["option sets wiped", "tags not wanted"]),
            ("ticket-42", [None, "tags not wanted"]),
            ("ticket-42", [None, None]),
            (None, ["option sets wiped", "tags not wanted"]),
            (None, ["option sets wiped", None]),
        ],
    )
    async def test_each_edit_is_recorded_with_its_own_reason(
        self, org_a: Caller, client: Client, reason: str | None, own: list[str | None]
    ) -> None:
        """The body's reason stood for every item's, and without one every item got all the
        items' reasons joined: what each item said was not in the log."""
        job_id = await failed_job(org_a, client)
        keys, targets = ["optionSets", "itemTags"], ["failed", "skipped"]
        updates = [
            {"sub_step": k, "status": t} | ({"reason": r} if r else {})
            for k, t, r in zip(keys, targets, own, strict=True)
        ]
        status, body = await org_a.patch(
            sub_steps(job_id), json={"updates": updates} | ({"reason": reason} if reason else {})
        )
        assert status == 200, body
        request_reason = reason or "; ".join(r for r in own if r)
        expected = [r or request_reason for r in own]
        _, events = await org_a.get(f"{BASE}/jobs/{job_id}/events", params={"limit": "1000"})
        recorded = {
            e["data"]["sub_step"]: e["data"]["reason"]
            for e in events["events"]
            if e["type"] == "ManualStatusSet"
        }
        assert recorded == dict(zip(keys, expected, strict=True))
        _, shown = await org_a.get(f"{BASE}/jobs/{job_id}")
        phases = shown["job"]["steps"][0]["sub_step_progress"]["phases"]
        shown_reasons = {
            k: v.get("reason") for p in phases.values() for k, v in p["sub_steps"].items()
        }
        assert [shown_reasons[k] for k in keys] == expected

    async def test_one_invalid_edit_applies_none(self, org_a: Caller, client: Client) -> None:
        job_id = await failed_job(org_a, client, "restaurantRegistration")
        updates = [
            {"sub_step": "itemTags", "status": "skipped", "reason": "r"},
            {"sub_step": "websiteConfig", "status": "completed", "reason": "r"},
        ]
        status, body = await org_a.patch(sub_steps(job_id), json={"updates": updates})
        assert status == 422
        assert body["errors"] == [
            "updates[1]: Cannot mark websiteConfig as completed: restaurantRegistration is failed"
        ]
        assert (await statuses(org_a, job_id))["itemTags"] == "blocked"

    async def test_dry_run_answers_what_it_would_do(self, org_a: Caller, client: Client) -> None:
        job_id = await failed_job(org_a, client)
        updates = [{"sub_step": "menuImport", "status": "pending", "reason": "r"}]
        status, body = await org_a.patch(
            sub_steps(job_id), json={"updates": updates, "dry_run": True}
        )
        assert (status, body["dry_run"]) == (200, True)
        assert body["updates"][0]["reset"] == ["menuImport", "optionSets", "itemTags"]
        assert (await statuses(org_a, job_id))["menuImport"] == "completed"

    async def test_empty_updates_is_422(self, org_a: Caller) -> None:
        job_id = (await org_a.new_batch())["jobs"][0]["id"]
        status, _ = await org_a.patch(sub_steps(job_id), json={"updates": []})
        assert status == 422


class TestValidation:
    async def test_describes_dependencies_and_each_target(
        self, org_a: Caller, client: Client
    ) -> None:
        job_id = await failed_job(org_a, client, "restaurantRegistration")
        status, body = await org_a.get(f"{sub_steps(job_id)}/websiteConfig/validation")
        assert status == 200
        assert (body["sub_step"], body["phase"], body["status"]) == (
            "websiteConfig",
            "phase2",
            "blocked",
        )
        assert body["dependencies"] == [
            {"sub_step": "codeGeneration", "status": "completed", "satisfied": True},
            {"sub_step": "restaurantRegistration", "status": "failed", "satisfied": False},
        ]
        completed = body["transitions"]["completed"]
        assert completed["valid"] is False
        assert completed["errors"] == [
            "Cannot mark websiteConfig as completed: restaurantRegistration is failed"
        ]
        assert "cascade" in body["transitions"]["pending"]

    async def test_a_running_jobs_validation_allows_no_edit_as_the_edit_would_be_refused(
        self, org_a: Caller
    ) -> None:
        job_id = await org_a.started_job()
        status, body = await org_a.get(f"{sub_steps(job_id)}/websiteConfig/validation")
        assert (status, body["editable"]) == (200, False)
        for target, answer in body["transitions"].items():
            assert answer["valid"] is False, target
            assert "is running" in answer["errors"][0]
            status, _ = await org_a.patch(
                f"{sub_steps(job_id)}/websiteConfig",
                json={"status": target, "reason": "by hand", "dry_run": True},
            )
            assert status == 409


WORKER = "test-worker"
LEASE_SECONDS = 600.0


async def cancelled_in_flight(caller: Caller, client: Client, leases: Leases) -> str:
    """A job cancelled while its restaurantRegistration call was in flight: phase 1 completed,
    the call's outcome not recorded yet. Its worker holds the job's lease, as a live worker
    waiting for the call does."""
    job_id = await caller.started_job()
    store = client.app[SERVICES].app
    assert leases.claim(job_id, WORKER, LEASE_SECONDS)
    job = store.job(job_id)
    job.claim(WORKER)
    for key in job.runnable():
        job.start_sub_step(key)
        job.complete_sub_step(key, RESULTS.get(key, {}))
    job.start_sub_step("restaurantRegistration")
    job.cancel("user:u-1", "stopped while a call was in flight")
    client.app[SERVICES].views.wait_for(store.store(job).position)
    return job_id


IN_FLIGHT_EDITS = {
    "mark completed": ("PATCH", "restaurantRegistration", {"status": "completed"}),
    "mark failed": ("PATCH", "restaurantRegistration", {"status": "failed"}),
    "mark skipped": ("PATCH", "restaurantRegistration", {"status": "skipped"}),
    "mark pending": ("PATCH", "restaurantRegistration", {"status": "pending"}),
    "reset": ("POST", "restaurantRegistration/reset", {}),
    "reset of a dependency": ("POST", "cloudwaitressAccount/reset", {}),
    "bulk, first": (
        "PATCH",
        "",
        {"updates": [{"sub_step": "restaurantRegistration", "status": "failed"}]},
    ),
    "bulk, after a valid and an invalid edit": (
        "PATCH",
        "",
        {
            "updates": [
                {"sub_step": "itemTags", "status": "skipped"},
                {"sub_step": "websiteConfig", "status": "completed"},
                {"sub_step": "cloudwaitressAccount", "status": "pending"},
            ]
        },
    ),
}


class TestACallInFlightOfACancelledJob:
    """Editing a sub-step whose call is in flight, while the worker that made it holds the
    job's lease, conflicts with the job's state, as editing a running job does: 409, dry run or
    not, single, bulk or reset; other edits are allowed. (Once that lease has expired, the
    call is orphaned: `test_edits_of_orphaned_calls`.)"""

    @pytest.mark.parametrize("dry_run", [True, False])
    @pytest.mark.parametrize("edit", sorted(IN_FLIGHT_EDITS))
    async def test_an_edit_that_would_change_it_is_409(
        self, org_a: Caller, client: Client, leases: Leases, edit: str, dry_run: bool
    ) -> None:
        job_id = await cancelled_in_flight(org_a, client, leases)
        method, path, body = IN_FLIGHT_EDITS[edit]
        url = f"{sub_steps(job_id)}/{path}".rstrip("/")
        body = body | {"reason": "by hand", "dry_run": dry_run}
        status, answer = await org_a.call(method, url, json=body)
        assert (status, answer["success"]) == (409, False), answer
        message = answer["message"]
        assert "restaurantRegistration" in message and "API is still in flight" in message
        assert (await statuses(org_a, job_id))["restaurantRegistration"] == "in_progress"

    async def test_its_validation_says_no_edit_is_allowed_and_why(
        self, org_a: Caller, client: Client, leases: Leases
    ) -> None:
        job_id = await cancelled_in_flight(org_a, client, leases)
        status, body = await org_a.get(f"{sub_steps(job_id)}/restaurantRegistration/validation")
        assert (status, body["editable"], body["status"]) == (200, False, "in_progress")
        for target, answer in body["transitions"].items():
            assert answer["valid"] is False, target
            assert "API is still in flight" in answer["errors"][0], answer
        status, body = await org_a.get(f"{sub_steps(job_id)}/uploadImages/validation")
        assert (status, body["editable"]) == (200, True)

    async def test_an_edit_that_leaves_it_alone_is_allowed(
        self, org_a: Caller, client: Client, leases: Leases
    ) -> None:
        job_id = await cancelled_in_flight(org_a, client, leases)
        status, body = await mark(org_a, job_id, "uploadImages", "failed", reason="bad images")
        assert (status, body["status"]) == (200, "failed")
        status, body = await mark(org_a, job_id, "websiteConfig", "completed")
        assert status == 422 and body["errors"] == [
            "Cannot mark websiteConfig as completed: restaurantRegistration is in_progress"
        ]


async def test_item_reasons_each_within_the_limit_are_taken_however_long_their_join(
    org_a: Caller,
) -> None:
    """An item without a reason takes the items' reasons joined, cut at the limit: a reason
    the server made is not refused as if the caller had sent it."""
    job_id = (await org_a.new_batch())["jobs"][0]["id"]
    updates = [
        {"sub_step": "codeGeneration", "status": "skipped", "reason": "a" * 2000},
        {"sub_step": "uploadImages", "status": "skipped", "reason": "b" * 2000},
        {"sub_step": "cloudwaitressAccount", "status": "skipped"},
    ]
    status, body = await org_a.patch(sub_steps(job_id), json={"updates": updates})
    assert status == 200, body
    _, events = await org_a.get(f"{BASE}/jobs/{job_id}/events")
    reasons = {
        e["data"]["sub_step"]: e["data"]["reason"]
        for e in events["events"]
        if e["type"] == "ManualStatusSet"
    }
    assert reasons["codeGeneration"] == "a" * 2000 and reasons["uploadImages"] == "b" * 2000
    joined = reasons["cloudwaitressAccount"]
    assert joined == "a" * 1999 + "\u2026"


# Sub-step names the plan does not have, as a path segment may carry them.
UNKNOWN_SUB_STEPS = ["nope", "menuimport", "x" * 150, "%E2%80%AEmenu%0Aimport", "%F0%9F%8D%95"]


@pytest.mark.parametrize("name", UNKNOWN_SUB_STEPS)
async def test_an_edit_of_a_sub_step_the_plan_lacks_is_refused_in_every_form_and_audited(
    org_a: Caller, client: Client, name: str
) -> None:
    """SPEC 5: refused edits are audited. A single PATCH and a reset naming an unknown
    sub-step were refused (404) before the job was looked at, so only the bulk form left an
    EditRefused."""
    job_id = await failed_job(org_a, client, "websiteConfig")
    _, before = await org_a.get(f"{BASE}/jobs/{job_id}/events", params={"limit": "1000"})
    single = await mark(org_a, job_id, name, "skipped", reason="single")
    reset = await org_a.post(f"{sub_steps(job_id)}/{name}/reset", json={"reason": "reset"})
    bulk = await org_a.patch(
        sub_steps(job_id),
        json={
            "updates": [{"sub_step": unquote(name)[:100], "status": "skipped"}],
            "reason": "bulk",
        },
    )
    assert (single[0], reset[0], bulk[0]) == (404, 404, 422), (single, reset, bulk)
    _, after = await org_a.get(f"{BASE}/jobs/{job_id}/events", params={"limit": "1000"})
    added = after["events"][len(before["events"]) :]
    assert [e["type"] for e in added] == ["EditRefused"] * 3
    assert [e["data"]["edit"]["reason"] for e in added] == ["single", "reset", "bulk"]
    for event in added:
        [update] = event["data"]["edit"]["updates"]
        assert update["sub_step"] == unquote(name)[:100]
    assert (await statuses(org_a, job_id))["websiteConfig"] == "failed"


@pytest.mark.parametrize("body", [{}, {"status": "done"}, "not json"])
async def test_a_path_naming_no_sub_step_is_404_whatever_its_body(org_a: Caller, body: Any) -> None:
    """A path naming nothing answers 404 before its body is judged, as before edits of unknown
    sub-steps were audited; only a readable edit of one is recorded, refused."""
    job_id = (await org_a.new_batch())["jobs"][0]["id"]
    sent = {"data": body} if isinstance(body, str) else {"json": body}
    assert (await org_a.patch(f"{sub_steps(job_id)}/nope", **sent))[0] == 404
    assert (await org_a.post(f"{sub_steps(job_id)}/nope/reset", data="{"))[0] == 404
    _, events = await org_a.get(f"{BASE}/jobs/{job_id}/events")
    assert "EditRefused" not in [e["type"] for e in events["events"]]


async def test_cancel_with_a_dry_run_in_the_query_is_refused_and_cancels_nothing(
    org_a: Caller,
) -> None:
    """A tester's `POST .../cancel?dry_run=true`: cancel takes no dry run, so the parameter was
    ignored and the running job cancelled. A field of another command's body is 400."""
    batch = await org_a.new_batch(restaurant("Running"))
    job_id = str(batch["jobs"][0]["id"])
    status, answer = await org_a.post(
        f"{BASE}/jobs/{job_id}/cancel", json={}, params={"dry_run": "true"}
    )
    assert status == 400 and answer["errors"][0].startswith("dry_run: not taken"), answer
    _, job = await org_a.get(f"{BASE}/jobs/{job_id}")
    assert job["job"]["status"] != "cancelled"


@pytest.mark.parametrize("route", [r for r in ROUTES if r.body is not None], ids=str)
async def test_every_command_refuses_what_another_command_or_a_read_takes_in_its_query(
    org_a: Caller, route: Route
) -> None:
    """Refused before anything is read: the ids in the path need not name anything."""
    own = {*parameter_names(route.body or Body), *parameter_names(route.query or Query)}
    path = re.sub(r"\{[A-Za-z]+Id\}", "00000000-0000-0000-0000-000000000000", route.path)
    path = re.sub(r"\{[A-Za-z]+\}", PLAN.keys[0], path)  # a sub-step's key
    for name in sorted((known_body_fields() | known_parameters()) - own):
        status, answer = await org_a.call(route.method, path, json={}, params={name: "1"})
        assert status == 400, (name, answer)
        assert answer["errors"][0].startswith(f"{name}: not taken by this "), answer
