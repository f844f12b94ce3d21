"""For the tests of quoted personal data: a caller of a new organisation, its erasure as
`regflow erase-organisation` makes it, and every output that shows a job, as searchable text."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import jwt

from api.services import SERVICES
from infrastructure.settings import Settings
from infrastructure.usecases.erasure import erase_organisation, erasure_plan
from infrastructure.usecases.registrations import Registrations
from projections.database import Database
from projections.queries import ViewQueries
from projections.schema import Schema
from tests.api.conftest import BASE, JWT_SECRET, Caller, Client
from tests.api.test_secrets_in_text import view_rows
from tests.integration.audit_kit import Cli

ERASED = "[erased]"  # as the erased fields show: written out, so the test does not take it


def new_caller(client: Client) -> Caller:
    """A caller of an organisation no other test uses (a token of its own)."""
    org = f"org-{uuid.uuid4().hex[:8]}"
    claims = {"sub": "u-7", "organisation_id": org, "exp": int(time.time()) + 3600}
    return Caller(client, org, jwt.encode(claims, JWT_SECRET, algorithm="HS256"))


def erase(client: Client, settings: Settings, org: str) -> None:
    """Erase the organisation from another process's store (as the CLI does, without its
    rebuild), and wait for this app's views to apply the erasure."""
    other = Registrations(settings)
    try:
        position = erase_organisation(other, erasure_plan(other, org, 1, 1), "cli:test")
    finally:
        other.close()
    client.app[SERVICES].views.wait_for(position)


async def outputs(
    caller: Caller, cli: Cli, settings: Settings, batch_id: str, job_ids: list[str]
) -> dict[str, str]:
    """Every answer, command output and view row that shows the jobs or their batch, by where,
    JSON written without escapes (so that a value is searched as it is, not as \\u escapes)."""
    shown: dict[str, str] = {}
    paths = [f"/{batch_id}", f"/{batch_id}/jobs"]
    for job_id in job_ids:
        paths += [f"/jobs/{job_id}", f"/jobs/{job_id}/events?limit=1000", f"/jobs/{job_id}/state"]
    for path in paths:
        status, body = await caller.get(BASE + path)
        assert status == 200, body
        shown[f"GET {path}"] = json.dumps(body, ensure_ascii=False)
    for job_id in job_ids:
        shown[f"views {job_id}"] = view_rows(settings, {"job_id": job_id, "batch_id": batch_id})
        for command in (("events", job_id, "--json"), ("events", job_id), ("state", job_id)):
            shown["regflow " + " ".join(command)] = _ran(cli, *command)
    for command in (("export", "--org", caller.org), ("jobs", batch_id, "--json")):
        shown["regflow " + " ".join(command)] = _ran(cli, *command)
    return shown


def _ran(cli: Cli, *command: str) -> str:
    run = cli(*command)
    assert run.code == 0, run.err
    return "\n".join(_unescaped(line) for line in run.out.splitlines())


def _unescaped(line: str) -> str:
    try:
        return json.dumps(json.loads(line), ensure_ascii=False)
    except ValueError:
        return line


def leaks(needles: list[str], shown: dict[str, str]) -> dict[str, list[str]]:
    """Where each needle shows, in any case."""
    found = {
        where: [n for n in needles if n.lower() in text.lower()] for where, text in shown.items()
    }
    return {where: needles for where, needles in found.items() if needles}


async def reasons_shown(
    caller: Caller, cli: Cli, settings: Settings, job_id: str, kind: str
) -> dict[str, Any]:
    """The reason of the job's last `kind` event, as each output that shows it shows it (a
    refused edit holds its reason inside the edit it records)."""
    _, events = await caller.get(f"{BASE}/jobs/{job_id}/events", params={"limit": "1000"})
    exported = [
        r for r in cli("export", "--org", caller.org).lines() if r["aggregate_id"] == job_id
    ]
    db = Database(settings)
    try:
        timeline = ViewQueries(db, Schema()).timeline(job_id, limit=1000)
    finally:
        db.close()
    shown = {
        "GET events": events["events"],
        "regflow events": cli("events", job_id, "--json").lines(),
        "regflow export": exported,
        "timeline view": timeline,
    }
    return {
        where: _reason([r for r in records if r["type"] == kind][-1])
        for where, records in shown.items()
    }


def _reason(record: dict[str, Any]) -> Any:
    return record["reason"] or (record["data"].get("edit") or {}).get("reason")


def sub_step_reason(answer: dict[str, Any], key: str) -> Any:
    """A sub-step's reason as GET /jobs/{id} shows it."""
    phases = answer["job"]["steps"][0]["sub_step_progress"]["phases"]
    return next(p["sub_steps"][key]["reason"] for p in phases.values() if key in p["sub_steps"])
