"""Creating a batch once per Idempotency-Key: a client that retries a create after losing the
answer (a 10,000-restaurant upload takes seconds) gets the batch it made, not a second batch
whose restaurants would all be registered twice."""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace
from typing import Any

import pytest
from eventsourcing.persistence import Mapper
from hypothesis import HealthCheck, given, settings

from domain.batch import RegistrationBatch
from infrastructure.settings import Settings
from infrastructure.usecases.idempotency import MAX_IDEMPOTENCY_KEY
from infrastructure.usecases.registrations import Registrations
from tests.api.conftest import BASE, Caller
from tests.conftest import unique_org
from tests.kit import CREDENTIAL_KEYS, IDEMPOTENCY_KEYS, at_once, restaurant

KEY = "Idempotency-Key"


async def create(
    caller: Caller, key: str | None, *names: str, **params: str
) -> tuple[int, Any, dict[str, str]]:
    headers = {"Authorization": f"Bearer {caller.key}"} | ({KEY: key} if key is not None else {})
    chosen = names or ("Buzz",)
    payload = {"name": "week 49", "restaurants": [restaurant(n, f"r-{n}") for n in chosen]}
    async with caller.client.post(BASE, json=payload, headers=headers, params=params) as answer:
        return answer.status, await answer.json(), dict(answer.headers)


async def batch_ids(caller: Caller) -> list[str]:
    _, body = await caller.get(BASE, params={"limit": "500"})
    return [b["id"] for b in body["batches"]]


class TestOncePerKey:
    async def test_a_repeat_answers_the_batch_it_made_and_makes_no_other(
        self, org_a: Caller
    ) -> None:
        first = await create(org_a, "order-17", "A", "B")
        assert first[0] == 201 and "Idempotent-Replayed" not in first[2]
        before = await batch_ids(org_a)
        again = await create(org_a, "order-17", "A", "B")
        assert again[0] == 201 and again[2]["Idempotent-Replayed"] == "true"
        assert again[1]["batch"] == first[1]["batch"]
        assert await batch_ids(org_a) == before

    async def test_a_repeat_after_the_batch_started_still_makes_nothing(
        self, org_a: Caller
    ) -> None:
        status, body, _ = await create(org_a, "k-start", "A")
        batch_id = body["batch"]["id"]
        started, _ = await org_a.post(f"{BASE}/{batch_id}/step-6/start")
        assert started == 202
        again = await create(org_a, "k-start", "A", brief="1")
        assert again[0] == 201 and again[1]["batch"]["id"] == batch_id
        assert "jobs" not in again[1]["batch"]

    async def test_the_key_reused_for_other_content_is_refused_and_makes_nothing(
        self, org_a: Caller
    ) -> None:
        _, body, _ = await create(org_a, "k-2", "A")
        before = await batch_ids(org_a)
        status, refused, _ = await create(org_a, "k-2", "A", "B")
        assert status == 422, refused
        assert body["batch"]["id"] in refused["errors"][0]
        assert await batch_ids(org_a) == before

    async def test_keys_are_per_organisation(self, org_a: Caller, org_b: Caller) -> None:
        _, a, _ = await create(org_a, "shared", "A")
        status, b, headers = await create(org_b, "shared", "A")
        assert status == 201 and "Idempotent-Replayed" not in headers
        assert a["batch"]["id"] != b["batch"]["id"]

    async def test_without_a_key_each_create_makes_a_batch(self, org_a: Caller) -> None:
        first, second = await create(org_a, None, "A"), await create(org_a, None, "A")
        assert first[1]["batch"]["id"] != second[1]["batch"]["id"]

    async def test_an_upload_with_a_key_is_made_once(self, org_a: Caller) -> None:
        headers = {"Content-Type": "text/csv", KEY: "sheet-1"}
        answers = [
            await org_a.post(
                BASE, params={"name": "sheet"}, data=io.BytesIO(b"name\nA\nB\n"), headers=headers
            )
            for _ in range(2)
        ]
        assert [s for s, _ in answers] == [201, 201]
        assert answers[0][1]["batch"] == answers[1][1]["batch"]

    @pytest.mark.parametrize(
        "key", ["", "x" * (MAX_IDEMPOTENCY_KEY + 1), "tab\there", *CREDENTIAL_KEYS]
    )
    async def test_a_malformed_key_is_refused_and_makes_nothing(
        self, org_a: Caller, key: str
    ) -> None:
        before = await batch_ids(org_a)
        status, body, _ = await create(org_a, key, "A")
        assert status in (400, 422), body
        assert await batch_ids(org_a) == before

    async def test_many_repeats_at_once_make_one_batch(self, org_a: Caller) -> None:
        answers = await asyncio.gather(*(create(org_a, "burst", "A", "B") for _ in range(12)))
        assert {status for status, _, _ in answers} == {201}
        assert len({body["batch"]["id"] for _, body, _ in answers}) == 1
        assert sum("Idempotent-Replayed" not in headers for _, _, headers in answers) == 1


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(key=IDEMPOTENCY_KEYS)
def test_any_printable_key_makes_one_batch(app: Registrations, key: str) -> None:
    org = unique_org()
    first = app.open_batch(org, "user:u", "b", [{"name": "A"}], idempotency_key=key)
    again = app.open_batch(org, "user:u", "b", [{"name": "A"}], idempotency_key=key)
    assert again.replayed and not first.replayed
    assert again.batch.id == first.batch.id and again.jobs == first.jobs


def test_two_stores_racing_with_one_key_make_one_batch(settings: Settings) -> None:
    """Two processes' worth of stores (each its own pool) create with one key at once."""
    org = unique_org()
    items = [{"name": f"R{i}"} for i in range(300)]
    apps = [Registrations(settings) for _ in range(2)]

    def create(app: Registrations) -> Any:
        return lambda: app.open_batch(org, "user:u", "b", items, idempotency_key="k")

    try:
        outcomes = at_once(*(create(a) for a in apps for _ in range(2)))
        assert len(outcomes) == 4
        assert len({o.batch.id for o in outcomes}) == 1
        assert sum(not o.replayed for o in outcomes) == 1
        made = apps[0].batch(outcomes[0].batch.id, org)
        assert [str(j) for j in made.job_ids] == [j["id"] for j in outcomes[0].jobs]
        assert all(apps[0].job(j).batch_id == made.id for j in made.job_ids)
    finally:
        for app in apps:
            app.close()


def test_a_batch_opened_before_keys_existed_reads_as_without_one(app: Registrations) -> None:
    batch = RegistrationBatch.open("org", "b", [], "user:u")
    created = batch.collect_events()[0]
    mapper = Mapper(transcoder=app.mapper.transcoder)
    stored = mapper.to_stored_event(created)
    state = mapper.transcoder.decode(stored.state)
    assert state.pop("class_version") == 2
    del state["request_digest"]
    decoded = mapper.to_domain_event(replace(stored, state=mapper.transcoder.encode(state)))
    assert decoded.mutate(None).request_digest is None


def test_the_recorded_digest_holds_no_secret(app: Registrations) -> None:
    config = {"account": {"email": "o@example.com", "password": "hunter2-secret"}}
    opened = app.open_batch(
        unique_org(), "user:u", "b", [{"name": "A", "execution_config": config}], None, "k"
    )
    digest = opened.batch.request_digest
    assert digest is not None and len(digest) == 64 and "hunter2" not in digest
