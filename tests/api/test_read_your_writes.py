"""SPEC §8: a query sent after a command's answer reflects that command, even while the views'
writer is held up (a tester held the views' tracking row FOR UPDATE: a PATCH answered after its
wait and every later read showed the job before it; a batch just created answered 404).

Each test holds the views' writer, then commands and reads back through the API. On PostgreSQL
the tracking row is held FOR UPDATE from another connection (the writer waits on it); on SQLite
a trigger refuses every move of the tracking row (the writer fails and starts again). Each test
has a database of its own, whose views it holds up.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest
from prometheus_client import REGISTRY

from api.app import create_app
from api.services import SERVICES
from infrastructure.settings import Settings
from tests.api.conftest import BASE, Caller, Client, MakeClient, run_job
from tests.api.test_batch_stream import next_event
from tests.api.test_edits import mark, statuses, sub_steps
from tests.conftest import own_database_url

TRACKING = "regflow_view_tracking"
SETTLE = 0.3  # how long a command waits for the held views here before it answers anyway
PUSHED_WITHIN = 10.0  # a stream's watcher looks every 0.25 s (keep-alives come every 15 s)


@pytest.fixture(params=["postgres", "sqlite"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of this test's own: its views are held up."""
    yield from own_database_url(request, tmp_path, "regflow_ryw")


@pytest.fixture
async def client(api_settings: Settings, aiohttp_client: MakeClient) -> Client:
    """The app, made after its database (and so closed before the database is dropped)."""
    return await aiohttp_client(create_app(api_settings))


@contextmanager
def tracking_row_held(url: str) -> Iterator[None]:
    with psycopg.connect(url) as conn:
        conn.execute(f"SELECT view_name FROM {TRACKING} FOR UPDATE")
        try:
            yield
        finally:
            conn.rollback()


@contextmanager
def _moves_refused(path: str) -> Iterator[None]:
    conn = sqlite3.connect(path, isolation_level=None, timeout=10)
    try:
        conn.execute(
            f"CREATE TRIGGER regflow_test_hold BEFORE UPDATE ON {TRACKING}"
            " BEGIN SELECT RAISE(ABORT, 'views held by the test'); END"
        )
        yield
        conn.execute("DROP TRIGGER regflow_test_hold")
    finally:
        conn.close()


@pytest.fixture
def held(settings: Settings, client: Client) -> Any:
    """`with held():` the views' writer cannot move the views (commands wait `SETTLE`)."""
    client.app[SERVICES].settle_timeout = SETTLE

    def hold() -> AbstractContextManager[None]:
        if settings.is_postgres:
            return tracking_row_held(settings.database_url)
        return _moves_refused(settings.sqlite_path)

    return hold


def folded_reads() -> float:
    return REGISTRY.get_sample_value("regflow_reads_folded_total", {"read": "job"}) or 0.0


async def job_of(caller: Caller, job_id: str) -> dict[str, Any]:
    status, body = await caller.get(f"{BASE}/jobs/{job_id}")
    assert status == 200, body
    return dict(body["job"])


async def failed_job(caller: Caller, client: Client, *failing: str) -> str:
    job_id = await caller.started_job()
    run_job(client, job_id, failing=set(failing or {"menuImport"}))
    return job_id


class TestEditsWhileTheViewsAreHeld:
    async def test_a_mark_is_read_back(self, org_a: Caller, client: Client, held: Any) -> None:
        job_id = await failed_job(org_a, client)
        await job_of(org_a, job_id)  # kept in memory, as a frontend's poll leaves it
        folded = folded_reads()
        with held():
            status, body = await mark(org_a, job_id, "menuImport", "skipped", reason="no menu")
            job = await job_of(org_a, job_id)
            shown = await statuses(org_a, job_id)
        assert status == 200
        assert (job["version"], shown["menuImport"]) == (body["version"], "skipped")
        assert folded_reads() > folded  # what on-call sees: reads answered from the log

    async def test_a_reset_is_read_back(self, org_a: Caller, client: Client, held: Any) -> None:
        job_id = await failed_job(org_a, client)
        with held():
            _, body = await org_a.post(
                f"{sub_steps(job_id)}/menuImport/reset", json={"reason": "r"}
            )
            job = await job_of(org_a, job_id)
            shown = await statuses(org_a, job_id)
        assert job["version"] == body["version"]
        assert [shown[k] for k in body["reset"]] == ["pending"] * len(body["reset"])

    async def test_a_bulk_edit_is_read_back(self, org_a: Caller, client: Client, held: Any) -> None:
        job_id = await failed_job(org_a, client)
        updates = [
            {"sub_step": "menuImport", "status": "skipped", "reason": "no menu"},
            {"sub_step": "optionSets", "status": "skipped", "reason": "no menu"},
        ]
        with held():
            _, body = await org_a.patch(sub_steps(job_id), json={"updates": updates})
            shown = await statuses(org_a, job_id)
        assert (shown["menuImport"], shown["optionSets"]) == ("skipped", "skipped")

    async def test_a_cancel_is_read_back(self, org_a: Caller, held: Any) -> None:
        job_id = await org_a.started_job()
        with held():
            status, _ = await org_a.post(f"{BASE}/jobs/{job_id}/cancel", json={"reason": "stop"})
            job = await job_of(org_a, job_id)
        assert (status, job["status"]) == (200, "cancelled")

    async def test_a_resume_is_read_back(self, org_a: Caller, client: Client, held: Any) -> None:
        job_id = await failed_job(org_a, client)
        with held():
            status, _ = await org_a.post(f"{BASE}/jobs/{job_id}/resume-step-6")
            job = await job_of(org_a, job_id)
        assert (status, job["status"]) == (200, "in_progress")

    async def test_the_timeline_shows_the_edit(
        self, org_a: Caller, client: Client, held: Any
    ) -> None:
        job_id = await failed_job(org_a, client)
        with held():
            _, body = await mark(org_a, job_id, "menuImport", "skipped", reason="no menu")
            _, events = await org_a.get(f"{BASE}/jobs/{job_id}/events", params={"limit": "1000"})
        assert events["events"][-1]["version"] == body["version"]
        assert "no menu" in [e["reason"] for e in events["events"]]

    async def test_another_organisation_still_gets_404(
        self, org_a: Caller, org_b: Caller, client: Client, held: Any
    ) -> None:
        job_id = await failed_job(org_a, client)
        with held():
            await mark(org_a, job_id, "menuImport", "skipped", reason="no menu")
            status, _ = await org_b.get(f"{BASE}/jobs/{job_id}")
            events, _ = await org_b.get(f"{BASE}/jobs/{job_id}/events")
        assert (status, events) == (404, 404)


class TestBatchesWhileTheViewsAreHeld:
    async def test_a_created_batch_is_read_back(self, org_a: Caller, held: Any) -> None:
        with held():
            batch = await org_a.new_batch()
            job_id = batch["jobs"][0]["id"]
            answers = [
                await org_a.get(f"{BASE}/{batch['id']}"),
                await org_a.get(f"{BASE}/{batch['id']}", params={"brief": "1"}),
                await org_a.get(f"{BASE}/{batch['id']}/progress"),
                await org_a.get(f"{BASE}/{batch['id']}/jobs"),
                await org_a.get(f"{BASE}/jobs/{job_id}"),
            ]
            _, listed = await org_a.get(BASE)
        assert [status for status, _ in answers] == [200] * 5
        assert answers[0][1]["batch"]["jobs"][0]["id"] == job_id
        assert (answers[2][1]["total"], answers[3][1]["total"]) == (1, 1)
        assert batch["id"] in [b["id"] for b in listed["batches"]]

    async def test_counters_reflect_an_edit(self, org_a: Caller, held: Any) -> None:
        job_id = await org_a.started_job()
        _, before = await org_a.get(f"{BASE}/jobs/{job_id}")
        batch_id = before["job"]["batch_id"]
        with held():
            await org_a.post(f"{BASE}/jobs/{job_id}/cancel", json={"reason": "stop"})
            _, progress = await org_a.get(f"{BASE}/{batch_id}/progress")
            _, page = await org_a.get(f"{BASE}/{batch_id}/jobs", params={"status": "cancelled"})
            _, listed = await org_a.get(BASE)
        assert (progress["cancelled"], progress["jobs"][0]["status"]) == (1, "cancelled")
        assert [j["id"] for j in page["jobs"]] == [job_id]
        assert [b["cancelled"] for b in listed["batches"] if b["id"] == batch_id] == [1]

    async def test_a_start_is_read_back(self, org_a: Caller, held: Any) -> None:
        batch = await org_a.new_batch()
        job_id = batch["jobs"][0]["id"]
        before = await job_of(org_a, job_id)
        with held():
            status, _ = await org_a.post(f"{BASE}/{batch['id']}/step-6/start")
            after = await job_of(org_a, job_id)
            _, events = await org_a.get(f"{BASE}/jobs/{job_id}/events")
        assert status == 202
        assert after["version"] == events["events"][-1]["version"] > before["version"]

    async def test_another_organisation_still_gets_404(
        self, org_a: Caller, org_b: Caller, held: Any
    ) -> None:
        with held():
            batch = await org_a.new_batch()
            found = [
                (await org_b.get(f"{BASE}/{batch['id']}{tail}"))[0]
                for tail in ("", "/progress", "/jobs")
            ]
            _, listed = await org_b.get(BASE)
        assert found == [404] * 3
        assert batch["id"] not in [b["id"] for b in listed["batches"]]


class TestStreamWhileTheViewsAreHeld:
    async def test_the_counters_pushed_reflect_an_edit(self, org_a: Caller, held: Any) -> None:
        job_id = await org_a.started_job()
        batch_id = (await job_of(org_a, job_id))["batch_id"]
        _, ticket = await org_a.post(f"{BASE}/{batch_id}/stream-token")
        with held():
            async with org_a.client.get(ticket["url"]) as stream:
                first = await next_event(stream)
                await org_a.post(f"{BASE}/jobs/{job_id}/cancel", json={"reason": "stop"})
                pushed = await asyncio.wait_for(next_event(stream), PUSHED_WITHIN)
        assert (first["cancelled"], pushed["cancelled"]) == (0, 1)


async def test_the_views_hold_it_once_let_go(org_a: Caller, client: Client, held: Any) -> None:
    """The writer held up was not lost: once let go, the views hold what the reads showed."""
    job_id = await failed_job(org_a, client)
    with held():
        _, body = await mark(org_a, job_id, "menuImport", "skipped", reason="no menu")
    services = client.app[SERVICES]
    head = await services.run(services.app.recorder.max_notification_id)
    assert await services.run(services.views.wait_for, head, 20.0)
    row = await services.run(services.views.job_progress, job_id)
    assert row["version"] == body["version"] == (await job_of(org_a, job_id))["version"]
