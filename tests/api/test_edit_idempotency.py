"""Editing once per Idempotency-Key: an operator's client that retries an edit after losing
the answer (a dropped connection, a proxy's timeout) is told what the edit did, instead of a
refusal for an edit that was made; the same key sent with other edits changes nothing."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from eventsourcing.persistence import Mapper
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.job import RegistrationJob
from domain.limits import readable
from domain.plan import PLAN
from infrastructure.settings import Settings
from infrastructure.usecases.idempotency import MAX_IDEMPOTENCY_KEY
from infrastructure.usecases.registrations import Registrations
from tests.api.conftest import BASE, Caller, Client, run_job
from tests.conftest import unique_org
from tests.kit import CREDENTIAL_KEYS, IDEMPOTENCY_KEYS, at_once

KEY, REPLAYED = "Idempotency-Key", "Idempotent-Replayed"
REASON = "done by hand in the CloudWaitress admin"
FIRST = PLAN.keys[0]
EDITED = ("ManualStatusSet", "SubStepReset", "EditRefused")


def sub_steps(job_id: str) -> str:
    return f"{BASE}/jobs/{job_id}/steps/6/sub-steps"


async def send(
    caller: Caller, method: str, path: str, key: str | None, body: dict[str, Any]
) -> tuple[int, Any, dict[str, str]]:
    headers = {"Authorization": f"Bearer {caller.key}"} | ({KEY: key} if key is not None else {})
    async with caller.client.request(method, path, json=body, headers=headers) as answer:
        return answer.status, await answer.json(), dict(answer.headers)


async def mark(
    caller: Caller, job_id: str, key: str | None, sub_step: str, status: str, **more: Any
) -> tuple[int, Any, dict[str, str]]:
    body = {"status": status, "reason": REASON} | more
    return await send(caller, "PATCH", f"{sub_steps(job_id)}/{sub_step}", key, body)


async def edit_events(caller: Caller, job_id: str) -> list[dict[str, Any]]:
    _, body = await caller.get(f"{BASE}/jobs/{job_id}/events", params={"limit": "1000"})
    return [e for e in body["events"] if e["type"] in EDITED]


async def failed_job(caller: Caller, client: Client, *failing: str) -> str:
    job_id = await caller.started_job()
    run_job(client, job_id, failing=set(failing))
    return job_id


class TestOncePerKey:
    async def test_a_repeat_answers_what_the_edit_did_and_changes_nothing(
        self, org_a: Caller, client: Client
    ) -> None:
        job_id = await org_a.started_job()
        run_job(client, job_id, until="phase1")
        first = await mark(org_a, job_id, "fix-1", "menuImport", "failed")
        assert first[0] == 200 and REPLAYED not in first[2], first[1]
        assert first[1]["warnings"], "marking menuImport failed warns of what it blocks"
        recorded = await edit_events(org_a, job_id)
        again = await mark(org_a, job_id, "fix-1", "menuImport", "failed")
        assert again[0] == 200 and again[2][REPLAYED] == "true"
        assert again[1] == first[1]
        assert await edit_events(org_a, job_id) == recorded

    async def test_an_empty_result_is_the_same_request_as_none(
        self, org_a: Caller, client: Client
    ) -> None:
        """`result: {}` is no result: a repeat sending it for none, or none for it, is the
        same request, answered as the first was; a result that says something is another."""
        job_id = await failed_job(org_a, client, "websiteConfig", "paymentConfig")
        first = await mark(org_a, job_id, "same-1", "websiteConfig", "completed")
        assert first[0] == 200, first[1]
        recorded = await edit_events(org_a, job_id)
        again = await mark(org_a, job_id, "same-1", "websiteConfig", "completed", result={})
        assert (again[0], again[2].get(REPLAYED)) == (200, "true"), again[1]
        other = await mark(org_a, job_id, "same-2", "paymentConfig", "completed", result={})
        assert other[0] == 200, other[1]
        repeat = await mark(org_a, job_id, "same-2", "paymentConfig", "completed")
        assert (repeat[0], repeat[2].get(REPLAYED)) == (200, "true"), repeat[1]
        differs = await mark(
            org_a, job_id, "same-2", "paymentConfig", "completed", result={"id": "p-1"}
        )
        assert differs[0] == 422, differs[1]
        assert (
            len(await edit_events(org_a, job_id)) == len(recorded) + 2
        )  # the second edit, the refusal

    async def test_without_the_key_the_repeat_is_refused_as_before(
        self, org_a: Caller, client: Client
    ) -> None:
        job_id = await failed_job(org_a, client, "websiteConfig")
        assert (await mark(org_a, job_id, None, "websiteConfig", "completed"))[0] == 200
        assert (await mark(org_a, job_id, None, "websiteConfig", "completed"))[0] == 422

    async def test_the_key_sent_with_other_edits_is_refused_audited_and_changes_nothing(
        self, org_a: Caller, client: Client
    ) -> None:
        """SPEC 5: refused edits are audited too, without changing the job's state."""
        job_id = await failed_job(org_a, client, "websiteConfig")
        await mark(org_a, job_id, "k", "websiteConfig", "completed")
        recorded = await edit_events(org_a, job_id)
        _, before = await org_a.get(f"{BASE}/jobs/{job_id}")
        others = (
            ("websiteConfig", "skipped", {}),
            ("websiteConfig", "completed", {"reason": "another reason"}),
            ("websiteConfig", "completed", {"result": {"url": "https://buzz.nz"}}),
        )
        for other in others:
            status, body, _ = await mark(org_a, job_id, "k", other[0], other[1], **other[2])
            assert status == 422, body
            assert body["errors"] == ['Idempotency-Key "k"']
        refusals = (await edit_events(org_a, job_id))[len(recorded) :]
        assert [e["type"] for e in refusals] == ["EditRefused"] * len(others)
        assert [e["data"]["edit"]["updates"][0]["status"] for e in refusals] == [
            other[1] for other in others
        ]
        # the key named in quotes, as the answer names it: not a value given to a name `...key`
        assert all(e["data"]["errors"][0].startswith('Idempotency-Key "') for e in refusals)
        _, after = await org_a.get(f"{BASE}/jobs/{job_id}")
        progress = after["job"]["steps"][0]["sub_step_progress"]
        assert progress == before["job"]["steps"][0]["sub_step_progress"]

    async def test_a_key_sent_twice_is_refused_and_nothing_is_done(
        self, org_a: Caller, client: Client
    ) -> None:
        """Which of two keys was meant is unknown: taking the first, as before, could answer a
        retry as another request (or make one edit twice)."""
        job_id = await failed_job(org_a, client, "websiteConfig")
        recorded = await edit_events(org_a, job_id)
        twice = [("Authorization", f"Bearer {org_a.key}"), (KEY, "a"), (KEY, "b")]
        requests = [
            ("PATCH", f"{sub_steps(job_id)}/websiteConfig", {"status": "skipped", "reason": "r"}),
            ("POST", BASE, {"name": "n", "restaurants": [{"name": "A"}]}),
        ]
        _, listed = await org_a.get(BASE)
        for method, path, body in requests:
            async with client.request(method, path, json=body, headers=twice) as answer:
                assert answer.status == 400
                assert (await answer.json())["errors"] == [
                    f"{KEY}: given more than once; give it once"
                ]
        assert await edit_events(org_a, job_id) == recorded
        assert (await org_a.get(BASE))[1]["batches"] == listed["batches"]

    async def test_keys_are_per_job(self, org_a: Caller, client: Client) -> None:
        one = await failed_job(org_a, client, "websiteConfig")
        two = await failed_job(org_a, client, "websiteConfig")
        await mark(org_a, one, "same", "websiteConfig", "completed")
        status, _, headers = await mark(org_a, two, "same", "websiteConfig", "completed")
        assert status == 200 and REPLAYED not in headers
        assert len(await edit_events(org_a, two)) == 1

    async def test_a_reset_and_a_bulk_edit_are_made_once(
        self, org_a: Caller, client: Client
    ) -> None:
        job_id = await failed_job(org_a, client, "menuImport")
        reset = [
            await send(
                org_a, "POST", f"{sub_steps(job_id)}/menuImport/reset", "r", {"reason": REASON}
            )
            for _ in range(2)
        ]
        assert [s for s, _, _ in reset] == [200, 200]
        assert reset[0][1] == reset[1][1] and reset[1][2][REPLAYED] == "true"
        updates = {"updates": [{"sub_step": k, "status": "completed"} for k in ("menuImport",)]}
        bulk = [
            await send(org_a, "PATCH", sub_steps(job_id), "b", updates | {"reason": REASON})
            for _ in range(2)
        ]
        assert [s for s, _, _ in bulk] == [200, 200]
        assert bulk[0][1] == bulk[1][1] and bulk[1][2][REPLAYED] == "true"
        kinds = [e["type"] for e in await edit_events(org_a, job_id)]
        assert kinds == ["SubStepReset", "ManualStatusSet"]

    async def test_a_dry_run_does_not_look_at_the_key(self, org_a: Caller, client: Client) -> None:
        job_id = await failed_job(org_a, client, "websiteConfig")
        preview = await mark(org_a, job_id, "k", "websiteConfig", "completed", dry_run=True)
        assert preview[0] == 200 and preview[1]["dry_run"] is True
        made = await mark(org_a, job_id, "k", "websiteConfig", "skipped")
        assert made[0] == 200 and REPLAYED not in made[2]
        other = await mark(org_a, job_id, "k", "websiteConfig", "failed", dry_run=True)
        assert other[0] in (200, 422) and REPLAYED not in other[2]

    async def test_a_repeat_after_the_job_was_resumed_still_changes_nothing(
        self, org_a: Caller, client: Client
    ) -> None:
        job_id = await failed_job(org_a, client, "websiteConfig")
        first = await mark(org_a, job_id, "k", "websiteConfig", "completed")
        assert first[0] == 200
        resumed, _ = await org_a.post(f"{BASE}/jobs/{job_id}/resume-step-6")
        assert resumed == 200
        run_job(client, job_id)
        recorded = await edit_events(org_a, job_id)
        again = await mark(org_a, job_id, "k", "websiteConfig", "completed")
        assert again[0] == 200 and again[2][REPLAYED] == "true"
        assert again[1]["warnings"] == first[1]["warnings"]
        assert await edit_events(org_a, job_id) == recorded

    @pytest.mark.parametrize("dry_run", [False, True])
    @pytest.mark.parametrize(
        "key", ["", "x" * (MAX_IDEMPOTENCY_KEY + 1), "tab\there", *CREDENTIAL_KEYS]
    )
    async def test_a_malformed_key_is_refused_and_changes_nothing(
        self, org_a: Caller, client: Client, key: str, dry_run: bool
    ) -> None:
        """A dry run says what the edit would do: one whose key is refused is refused."""
        job_id = await failed_job(org_a, client, "websiteConfig")
        status, body, _ = await mark(
            org_a, job_id, key, "websiteConfig", "completed", dry_run=dry_run
        )
        assert status in (400, 422), body
        assert any(e.startswith("Idempotency-Key") for e in body["errors"]), body
        assert await edit_events(org_a, job_id) == []

    async def test_many_repeats_at_once_make_one_edit(self, org_a: Caller, client: Client) -> None:
        job_id = await failed_job(org_a, client, "websiteConfig")
        answers = await asyncio.gather(
            *(mark(org_a, job_id, "burst", "websiteConfig", "completed") for _ in range(12))
        )
        assert {status for status, _, _ in answers} == {200}
        assert len({str(body) for _, body, _ in answers}) == 1
        assert sum(REPLAYED not in headers for _, _, headers in answers) == 1
        assert [e["type"] for e in await edit_events(org_a, job_id)] == ["ManualStatusSet"]


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    key=IDEMPOTENCY_KEYS,
    target=st.sampled_from(["completed", "failed", "skipped"]),
    # Any reason an edit may carry: readable text (a NUL, a lone surrogate or a reason that
    # shows nothing is refused before the key is looked at).
    reason=st.text(
        st.characters(exclude_characters="\x00", exclude_categories=("Cs",)),
        min_size=1,
        max_size=40,
    ).filter(readable),
)
def test_any_printable_key_edits_once(
    app: Registrations, key: str, target: str, reason: str
) -> None:
    org = unique_org()
    _, jobs, _ = app.create_batch(org, "user:u", "b", [{"name": "A"}])
    edits: list[tuple[str, str, dict[str, Any] | None]] = [(FIRST, target, None)]
    first = app.edit(org, jobs[0].id, edits, "user:u", reason, False, key)
    again = app.edit(org, jobs[0].id, edits, "user:u", reason, False, key)
    assert not first.replayed and again.replayed
    assert again.checks == first.checks and again.version == first.version
    kinds = [type(e).__name__ for e in app.events.get(jobs[0].id)]
    assert kinds.count("ManualStatusSet") == 1


def test_two_stores_racing_with_one_key_make_one_edit(settings: Settings) -> None:
    """Two processes' worth of stores (each its own pool) send one keyed edit at once."""
    org = unique_org()
    apps = [Registrations(settings) for _ in range(2)]
    _, jobs, _ = apps[0].create_batch(org, "user:u", "b", [{"name": "A"}])
    edits: list[tuple[str, str, dict[str, Any] | None]] = [(FIRST, "completed", None)]

    def edit(app: Registrations) -> Any:
        return lambda: app.edit(org, jobs[0].id, edits, "user:u", REASON, False, "k")

    try:
        outcomes = at_once(*(edit(a) for a in apps for _ in range(2)), seconds=60)
        assert len(outcomes) == 4
        assert sum(not o.replayed for o in outcomes) == 1
        kinds = [type(e).__name__ for e in apps[0].events.get(jobs[0].id)]
        assert kinds.count("ManualStatusSet") == 1
    finally:
        for app in apps:
            app.close()


def test_a_key_survives_a_snapshot(app: Registrations) -> None:
    org = unique_org()
    _, jobs, _ = app.create_batch(org, "user:u", "b", [{"name": "A"}])
    edits: list[tuple[str, str, dict[str, Any] | None]] = [(FIRST, "completed", None)]
    first = app.edit(org, jobs[0].id, edits, "user:u", REASON, False, "k")
    app.take_snapshot(jobs[0].id)
    assert app.snapshots is not None and list(app.snapshots.get(jobs[0].id))
    again = app.edit(org, jobs[0].id, edits, "user:u", REASON, False, "k")
    assert again.replayed and again.checks == first.checks


@pytest.mark.parametrize("event", ["ManualStatusSet", "SubStepReset"])
def test_an_edit_recorded_before_keys_existed_reads_as_unkeyed(
    app: Registrations, event: str
) -> None:
    org = unique_org()
    _, jobs, _ = app.create_batch(org, "user:u", "b", [{"name": "A"}])
    app.edit(org, jobs[0].id, [(FIRST, "completed", None)], "user:u", REASON, False, "k")
    if event == "SubStepReset":
        app.edit(org, jobs[0].id, [(FIRST, "pending", None)], "user:u", REASON, False, "r")
    recorded = [e for e in app.events.get(jobs[0].id) if type(e).__name__ == event][0]
    mapper = Mapper(transcoder=app.mapper.transcoder)
    stored = mapper.to_stored_event(recorded)
    state = mapper.transcoder.decode(stored.state)
    assert state.pop("class_version") == 2
    for name in ("warnings", "idempotency_key", "request_digest"):
        del state[name]
    decoded = mapper.to_domain_event(replace(stored, state=mapper.transcoder.encode(state)))
    assert (decoded.idempotency_key, decoded.request_digest, decoded.warnings) == (None, None, [])
    job = RegistrationJob.__new__(RegistrationJob)
    job.edit_requests = {}
    job.sub_steps = {k: type(app.job(jobs[0].id).sub_steps[k])() for k in PLAN.keys}
    decoded.apply(job)
    assert job.edit_requests == {}


def test_the_recorded_digest_holds_no_secret(app: Registrations) -> None:
    org = unique_org()
    _, jobs, _ = app.create_batch(org, "user:u", "b", [{"name": "A"}])
    secret = {"password": "hunter2-secret"}
    app.edit(org, jobs[0].id, [(FIRST, "completed", secret)], "user:u", REASON, False, "k")
    recorded = [e for e in app.events.get(jobs[0].id) if type(e).__name__ == "ManualStatusSet"]
    digest = recorded[0].request_digest
    assert digest is not None and len(digest) == 64 and "hunter2" not in digest
