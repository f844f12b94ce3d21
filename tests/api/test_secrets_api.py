"""Secrets over HTTP: the names a new user sends are masked everywhere, harmless ones are not."""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import closing
from typing import Any

import psycopg

from api.services import SERVICES
from infrastructure.settings import Settings
from tests.api.conftest import BASE, Caller, Client, run_job

TAG = uuid.uuid4().hex[:8]
SECRETS = {
    "account": {"email": "owner@example.com", "serviceKey": f"sk-{TAG}", "passwd": f"pw-{TAG}"},
    "payment": {"enabled": True, "access_key": f"ak-{TAG}", "shipping": "courier"},
    "restaurant": {"name": "Buzz", "privateKey": f"pk-{TAG}"},
    "onboarding_user": {"enabled": True, "session_cookie": f"sc-{TAG}"},
    "headers": {"Authorization": f"Bearer bt-{TAG}-0123456789"},
    "credentials": {"pass": f"cp-{TAG}"},
    "menu": {"menu_id": "m-1", "toppings": ["cheese", "olives"]},
}
HIDDEN = [f"sk-{TAG}", f"pw-{TAG}", f"ak-{TAG}", f"pk-{TAG}", f"sc-{TAG}", f"bt-{TAG}", f"cp-{TAG}"]


def view_text(settings: Settings) -> str:
    """Every row of the job view and the timeline, as text."""
    tables = ("regflow_job_progress", "regflow_job_timeline", "regflow_batch_summaries")
    if settings.is_postgres:
        with psycopg.connect(settings.database_url) as conn:
            return "\n".join(
                str(r[0]) for t in tables for r in conn.execute(f"SELECT x::text FROM {t} x")
            )
    with closing(sqlite3.connect(settings.sqlite_path)) as conn:
        return "\n".join(str(r) for t in tables for r in conn.execute(f"SELECT * FROM {t}"))


async def shown(caller: Caller, job_id: str) -> dict[str, Any]:
    answers = {}
    for path in ("", "/events", "/state"):
        status, body = await caller.get(f"{BASE}/jobs/{job_id}{path}")
        assert status == 200, body
        answers[path or "/"] = body
    return answers


class TestSecretsByName:
    async def test_no_secret_is_answered_or_projected(
        self, org_a: Caller, client: Client, api_settings: Settings
    ) -> None:
        job_id = await org_a.started_job(**SECRETS)
        run_job(client, job_id, until="phase1")
        answers = await shown(org_a, job_id)
        text = str(answers) + view_text(api_settings)
        assert [s for s in HIDDEN if s in text] == []
        created = answers["/events"]["events"][0]["data"]["execution_config"]
        assert created["account"]["serviceKey"] == "***"
        assert created["headers"]["Authorization"] == "***"
        assert created["credentials"] == "***"

    async def test_harmless_names_that_contain_pin_or_key_are_shown(
        self, org_a: Caller, client: Client
    ) -> None:
        job_id = await org_a.started_job(**SECRETS)
        _, events = await org_a.get(f"{BASE}/jobs/{job_id}/events")
        created = events["events"][0]["data"]["execution_config"]
        assert created["menu"]["toppings"] == ["cheese", "olives"]
        assert created["payment"]["shipping"] == "courier"
        assert created["account"]["email"] == "owner@example.com"

    async def test_an_api_result_with_secrets_is_masked_in_the_progress(
        self, org_a: Caller, client: Client
    ) -> None:
        job_id = await org_a.started_job()
        store = client.app[SERVICES].app
        job = store.job(job_id)
        job.claim("test-worker")
        job.start_sub_step("cloudwaitressAccount")
        answer = {"accountId": "a-1", "apiToken": f"tok-{TAG}", "note": f"eyJ{TAG}x.y{TAG}z.s"}
        job.complete_sub_step("cloudwaitressAccount", answer)
        client.app[SERVICES].views.wait_for(store.store(job).position)
        _, body = await org_a.get(f"{BASE}/jobs/{job_id}")
        progress = body["job"]["steps"][0]["sub_step_progress"]
        result = progress["phases"]["phase1"]["sub_steps"]["cloudwaitressAccount"]["result"]
        assert result == {"accountId": "a-1", "apiToken": "***", "note": "***"}
