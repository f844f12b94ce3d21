"""Two API instances on one PostgreSQL database, as two processes would run (each its own store,
views, runner and kept answers; one of them runs the views, the other stands by): a command
answered by one is read back by the other, the views' writer held up or not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from api.app import create_app
from api.services import SERVICES
from infrastructure.settings import Settings, reveal
from tests.api.conftest import BASE, Caller, Client, MakeClient, run_job
from tests.api.test_edits import mark, statuses
from tests.api.test_read_your_writes import SETTLE, tracking_row_held
from tests.conftest import new_database
from tests.kit import eventually


@pytest.fixture
def database_url(pg_url: str) -> Iterator[str]:
    """A database of this test's own: its views are held up."""
    with new_database("regflow_ryw") as (_, url):
        yield url


@pytest.fixture
async def pair(api_settings: Settings, aiohttp_client: MakeClient) -> list[Caller]:
    """Organisation A's callers of two instances; the first to start runs the views."""
    org, key = (reveal(api_settings.api_keys) or "").split(",")[0].split(":", 1)
    callers = []
    for _ in range(2):
        client: Client = await aiohttp_client(create_app(api_settings))
        client.app[SERVICES].settle_timeout = SETTLE
        callers.append(Caller(client, org, key))
    return callers


async def writer_and_reader(pair: list[Caller], runner_writes: bool) -> tuple[Caller, Caller]:
    """The instance that runs the views and the one that stands by, in the order asked."""
    await eventually(
        lambda: [c.client.app[SERVICES].views.run_here() for c in pair].count(True) == 1
    )
    runner, standby = sorted(pair, key=lambda c: not c.client.app[SERVICES].views.run_here())
    return (runner, standby) if runner_writes else (standby, runner)


WRITERS = pytest.mark.parametrize("runner_writes", [True, False], ids=["runner", "standby"])


@WRITERS
async def test_an_edit_on_one_instance_is_read_on_the_other(
    pair: list[Caller], settings: Settings, runner_writes: bool
) -> None:
    first, other = await writer_and_reader(pair, runner_writes)
    job_id = await first.started_job()
    run_job(first.client, job_id, failing={"menuImport"})
    await other.get(f"{BASE}/jobs/{job_id}")  # kept in memory there, if it runs the views
    with tracking_row_held(settings.database_url):
        status, body = await mark(first, job_id, "menuImport", "skipped", reason="no menu")
        _, job = await other.get(f"{BASE}/jobs/{job_id}")
        shown = await statuses(other, job_id)
        _, progress = await other.get(f"{BASE}/{job['job']['batch_id']}/progress")
    assert status == 200
    assert (job["job"]["version"], shown["menuImport"]) == (body["version"], "skipped")
    assert progress["jobs"][0]["status"] == job["job"]["status"]


@WRITERS
async def test_a_batch_created_on_one_instance_is_found_on_the_other(
    pair: list[Caller], settings: Settings, runner_writes: bool
) -> None:
    first, other = await writer_and_reader(pair, runner_writes)
    with tracking_row_held(settings.database_url):
        batch = await first.new_batch()
        found: list[Any] = [
            await other.get(f"{BASE}/{batch['id']}"),
            await other.get(f"{BASE}/jobs/{batch['jobs'][0]['id']}"),
        ]
    assert [status for status, _ in found] == [200, 200]
