"""Credentials inside text (reasons, results, names, a restaurant's fields and config) never
show: over HTTP, in the views' tables, in `regflow events`, `export`, `state` and `jobs`, in
the logs; on SQLite and PostgreSQL. What is public (idempotency keys, a stream ticket to its
caller) shows as it is."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from api.stream_tokens import TICKETS
from domain.limits import MAX_NAME
from infrastructure.log_scrub import ScrubSecrets
from infrastructure.logs import JsonLines
from infrastructure.settings import Settings
from tests.api.conftest import BASE, Caller, Client, run_job
from tests.credentials import (
    SHORT_CREDENTIALS,
    Planted,
    assignments,
    planted_documents,
    planted_text,
    url_passwords,
)
from tests.integration.audit_kit import Cli, cli

__all__ = ["cli"]

VIEWS = (
    ("regflow_job_progress", "job_id"),
    ("regflow_job_timeline", "job_id"),
    ("regflow_batch_summaries", "batch_id"),
)


def view_rows(settings: Settings, ids: dict[str, str]) -> str:
    """The rows the views hold of one job and its batch, as text."""
    if settings.is_postgres:
        with psycopg.connect(settings.database_url) as conn:
            return "\n".join(
                str(row[0])
                for table, key in VIEWS
                for row in conn.execute(
                    f"SELECT x::text FROM {table} x WHERE {key} = %s", (ids[key],)
                )
            )
    with closing(sqlite3.connect(settings.sqlite_path)) as conn:
        return "\n".join(
            str(row)
            for table, key in VIEWS
            for row in conn.execute(f"SELECT * FROM {table} WHERE {key} = ?", (ids[key],))
        )


class LogLines(logging.Handler):
    """JSON log lines, through the filter every regflow process puts on its handler."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self.addFilter(ScrubSecrets())
        self.setFormatter(JsonLines())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def logged() -> Iterator[list[str]]:
    """The log lines written meanwhile."""
    handler, root = LogLines(), logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


async def everything_shown(
    caller: Caller, cli: Cli, settings: Settings, batch_id: str, job_id: str
) -> dict[str, str]:
    """Every answer, table and command output that shows the job or its batch, by where."""
    shown: dict[str, str] = {}
    job, batch = f"/jobs/{job_id}", f"/{batch_id}"
    for path in (job, f"{job}/events", f"{job}/state", batch, f"{batch}/jobs"):
        status, body = await caller.get(BASE + path)
        assert status == 200, body
        shown[f"GET {path.replace(job_id, 'JOB').replace(batch_id, 'BATCH')}"] = json.dumps(body)
    shown["views"] = view_rows(settings, {"job_id": job_id, "batch_id": batch_id})
    for command in (
        ("events", "JOB", "--json"),
        ("events", "JOB"),
        ("export", "--batch", "BATCH"),
        ("state", "JOB", "--json"),
        ("jobs", "BATCH", "--json"),
    ):
        run = cli(*({"JOB": job_id, "BATCH": batch_id}.get(word, word) for word in command))
        assert run.code == 0, run.err
        shown["regflow " + " ".join(command)] = run.out
    return shown


def leaks(planted: Planted, shown: dict[str, str]) -> dict[str, list[str]]:
    return {where: found for where, text in shown.items() if (found := planted.leaked(text))}


async def edit(caller: Caller, job_id: str, one: dict[str, Any]) -> None:
    """PATCH one sub-step of the job (`one` names it) by hand."""
    path = f"{BASE}/jobs/{job_id}/steps/6/sub-steps/{one['sub_step']}"
    status, body = await caller.patch(path, json={k: v for k, v in one.items() if k != "sub_step"})
    assert status == 200, body


async def edited_job(
    caller: Caller, names: tuple[str, str], edits: list[dict[str, Any]]
) -> tuple[str, str]:
    """A new batch of one job (the batch's and the restaurant's `names`), each edit PATCHed in
    turn; (batch id, job id)."""
    batch_name, name = names
    status, body = await caller.post(
        BASE, json={"name": batch_name, "restaurants": [{"name": name}]}
    )
    assert status == 201, body
    job_id = str(body["batch"]["jobs"][0]["id"])
    for one in edits:
        await edit(caller, job_id, one)
    return str(body["batch"]["id"]), job_id


REPORTED: dict[str, tuple[dict[str, Any], str]] = {
    "inside a reason": (
        {"reason": "used Bearer sk_live_ABCDEF123456 to do it", "result": {"pin": "1234"}},
        "sk_live_ABCDEF123456",
    ),
    "a whole reason": ({"reason": "Bearer sk_live_WHOLEVALUE999"}, "sk_live_WHOLEVALUE999"),
    "inside a result string": (
        {"result": {"msg": "the header was Bearer sk_live_INSIDE777 ok"}, "reason": "by hand"},
        "sk_live_INSIDE777",
    ),
}


async def phase2_job(caller: Caller, client: Client) -> tuple[str, str]:
    """A job run to the end of phase 2, then stopped: its option sets wait for an edit."""
    batch = await caller.new_batch()
    batch_id, job_id = str(batch["id"]), str(batch["jobs"][0]["id"])
    await caller.post(f"{BASE}/{batch_id}/step-6/start")
    run_job(client, job_id, until="phase2")
    return batch_id, job_id


class TestReportedLeaks:
    @pytest.mark.parametrize("where", list(REPORTED))
    async def test_a_bearer_token_shows_nowhere(
        self, org_a: Caller, client: Client, cli: Cli, api_settings: Settings, where: str
    ) -> None:
        body, token = REPORTED[where]
        with logged() as lines:
            batch_id, job_id = await phase2_job(org_a, client)
            await edit(org_a, job_id, {"sub_step": "optionSets", "status": "completed"} | body)
            shown = await everything_shown(org_a, cli, api_settings, batch_id, job_id)
        shown["logs"] = "\n".join(lines)
        assert [where for where, text in shown.items() if token in text] == []

    async def test_the_words_around_a_masked_token_are_kept(
        self, org_a: Caller, client: Client
    ) -> None:
        _, job_id = await phase2_job(org_a, client)
        body, _ = REPORTED["inside a reason"]
        await edit(org_a, job_id, {"sub_step": "optionSets", "status": "completed"} | body)
        _, answer = await org_a.get(f"{BASE}/jobs/{job_id}/events", params={"limit": "200"})
        edited = next(e for e in answer["events"] if e["type"] == "ManualStatusSet")
        assert (edited["reason"], edited["data"]["reason"]) == ("used *** to do it",) * 2
        assert edited["data"]["result"] == {"pin": "***"}


class TestPublicValuesShow:
    async def test_the_events_answer_shows_the_idempotency_keys_the_log_holds(
        self, org_a: Caller, client: Client, cli: Cli
    ) -> None:
        batch = await org_a.new_batch()
        job_id = str(batch["jobs"][0]["id"])
        path = f"{BASE}/jobs/{job_id}/steps/6/sub-steps/uploadImages"
        headers = {"Idempotency-Key": "edit-key-17"}
        status, _ = await org_a.patch(
            path, json={"status": "skipped", "reason": "no images"}, headers=headers
        )
        assert status == 200
        await org_a.post(f"{BASE}/{batch['id']}/step-6/start")
        run_job(client, job_id, until="phase1")
        _, answer = await org_a.get(f"{BASE}/jobs/{job_id}/events", params={"limit": "200"})
        shown = [e["data"].get("idempotency_key") for e in answer["events"]]
        logged_keys = [
            e["data"].get("idempotency_key") for e in cli("events", job_id, "--json").lines()
        ]
        assert shown == logged_keys
        assert "edit-key-17" in shown and f"{job_id}:cloudwaitressAccount:1" in shown

    async def test_a_stream_ticket_is_given_to_the_caller_who_asked(
        self, org_a: Caller, client: Client
    ) -> None:
        batch = await org_a.new_batch()
        status, answer = await org_a.post(f"{BASE}/{batch['id']}/stream-token")
        assert status == 200
        stream = f"{BASE}/{batch['id']}/stream"
        assert answer["url"] == f"{stream}?stream_token={answer['token']}"
        assert client.app[TICKETS].caller(answer["token"], stream).organisation_id == org_a.org
        async with client.get(answer["url"]) as opened:
            assert opened.status == 200


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_no_planted_credential_shows_anywhere(
    org_a: Caller, cli: Cli, api_settings: Settings, data: st.DataObject
) -> None:
    planted = Planted()
    in_names = st.one_of(SHORT_CREDENTIALS, assignments())
    names = tuple(
        data.draw(planted_text(planted, in_names, most=1), f"{whose} name")
        for whose in ("batch", "restaurant")
    )
    completed = {
        "sub_step": "cloudwaitressAccount",
        "status": "completed",
        "reason": data.draw(planted_text(planted), "reason"),
        "result": data.draw(planted_documents(planted), "result"),
    }
    failed = {"sub_step": "codeGeneration", "status": "failed"}
    failed["reason"] = data.draw(planted_text(planted), "reason of the failed")
    assume(not planted.ambiguous() and max(len(n) for n in names) <= MAX_NAME)
    with logged() as lines:
        batch_id, job_id = await edited_job(org_a, (names[0], names[1]), [completed, failed])
        shown = await everything_shown(org_a, cli, api_settings, batch_id, job_id)
    shown["logs"] = "\n".join(lines)
    assert leaks(planted, shown) == {}


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
async def test_no_urls_password_in_a_restaurant_or_its_config_shows_anywhere(
    org_a: Caller, cli: Cli, api_settings: Settings, data: st.DataObject
) -> None:
    planted = Planted()
    urls = url_passwords()
    config = {
        "website": {"deploy": data.draw(planted_documents(planted, credentials=urls), "site")},
        "integrations": data.draw(planted_documents(planted, credentials=urls), "integrations"),
    }
    fields = data.draw(planted_documents(planted, credentials=urls), "restaurant's fields")
    restaurant = fields | {"name": "U", "external_id": None, "execution_config": config}
    assume(not planted.ambiguous())
    with logged() as lines:
        status, body = await org_a.post(BASE, json={"name": "urls", "restaurants": [restaurant]})
        assert status == 201, body
        batch_id, job_id = str(body["batch"]["id"]), str(body["batch"]["jobs"][0]["id"])
        shown = await everything_shown(org_a, cli, api_settings, batch_id, job_id)
    shown["logs"] = "\n".join(lines)
    assert leaks(planted, shown) == {}
