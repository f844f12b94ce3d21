"""When the database goes away, the API answers 503 and comes back with it: never a 500."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from psycopg_pool import ConnectionPool

from api.app import create_app
from infrastructure.dropped_connections import RECONNECT_SECONDS
from infrastructure.engine.leases import open_leases
from tests.api.conftest import BASE, MakeClient
from tests.conftest import cut_off, end_connections, new_database, store_settings
from tests.kit import eventually_value

pytestmark = pytest.mark.postgres
KEY = f"key-{uuid.uuid4().hex}"


@pytest.fixture
def own_database(pg_url: str) -> Iterator[tuple[str, str]]:
    with new_database("regflow_outage") as (name, url):
        yield name, url
        cut_off(name, allowed=True)


async def test_a_lost_database_answers_503_then_recovers(
    aiohttp_client: MakeClient, own_database: tuple[str, str]
) -> None:
    name, url = own_database
    settings = store_settings(url, api_keys=f"o:{KEY}")
    client: TestClient[Any, Any] = await aiohttp_client(
        create_app(settings.model_copy(update={"role": "api"}))
    )
    headers = {"Authorization": f"Bearer {KEY}"}
    job = f"{BASE}/jobs/{uuid.uuid4()}"
    cut_off(name, allowed=False)
    async with client.get(job, headers=headers) as response:
        assert response.status == 503
        assert (await response.json())["success"] is False
    cut_off(name, allowed=True)

    async def recovered() -> bool | None:
        async with client.get(job, headers=headers) as response:
            assert response.status in (404, 503)
            return True if response.status == 404 else None

    assert await eventually_value(recovered, timeout=60, interval=0.2)


async def test_readiness_names_a_lost_database_as_the_store_and_comes_back_with_it(
    aiohttp_client: MakeClient, own_database: tuple[str, str]
) -> None:
    """A cut-off database is named (`store: unreachable`), not hidden behind a timeout of all
    the checks; every probe of the outage says so, and readiness returns with the store."""
    name, url = own_database
    settings = store_settings(url, api_keys=f"o:{KEY}")
    client: TestClient[Any, Any] = await aiohttp_client(
        create_app(settings.model_copy(update={"role": "api"}))
    )
    headers = {"Authorization": f"Bearer {KEY}"}
    cut_off(name, allowed=False)
    for _ in range(3):
        async with client.get("/health/ready", headers=headers) as response:
            assert response.status == 503
            assert (await response.json())["errors"] == ["store: unreachable"]
        async with client.get("/health/ready") as anonymous:  # a load balancer's probe
            assert anonymous.status == 503
            assert (await anonymous.json())["errors"] == ["store: unreachable"]
    cut_off(name, allowed=True)

    async def ready() -> bool | None:
        async with client.get("/health/ready", headers=headers) as response:
            return True if response.status == 200 else None

    assert await eventually_value(ready, timeout=60, interval=0.2)


async def test_every_read_answers_at_once_after_the_connections_are_ended(
    aiohttp_client: MakeClient, own_database: tuple[str, str]
) -> None:
    """Pooled connections the server ended are given up and the read asked again: no read
    answers 503 while the database is up (batch reads did, once per pooled connection)."""
    name, url = own_database
    settings = store_settings(url, api_keys=f"o:{KEY}")
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    headers = {"Authorization": f"Bearer {KEY}"}
    body = {"name": "b", "restaurants": [{"name": "A"}, {"name": "B"}]}
    async with client.post(BASE, json=body, headers=headers) as response:
        batch = (await response.json())["batch"]
    reads = [
        BASE,
        f"{BASE}/{batch['id']}",
        f"{BASE}/{batch['id']}/progress",
        f"{BASE}/{batch['id']}/jobs?limit=5",
        f"{BASE}/jobs/{batch['jobs'][0]['id']}",
        f"{BASE}/jobs/{batch['jobs'][0]['id']}/events",
    ]

    async def status_of(path: str) -> int:
        async with client.get(path, headers=headers) as response:
            return response.status

    for _ in range(3):
        assert set(await asyncio.gather(*(status_of(p) for p in reads * 4))) == {200}
        assert end_connections(url) > 0
        assert {path: await status_of(path) for path in reads} == {path: 200 for path in reads}


OUTAGE_SECONDS = 18.0


async def test_writes_and_reads_are_served_within_seconds_of_a_long_outage_ending(
    aiohttp_client: MakeClient, own_database: tuple[str, str]
) -> None:
    """After an outage longer than a pool's first attempts to reconnect, a write and every read
    are served within a pool's attempt of the database coming back: a pool doubling its wait
    between attempts for five minutes tried again only seconds to minutes after that (a batch
    created, on the store's pool, and the batch reads, on the views' pool)."""
    name, url = own_database
    settings = store_settings(url, api_keys=f"o:{KEY}")
    client: TestClient[Any, Any] = await aiohttp_client(
        create_app(settings.model_copy(update={"role": "api"}))
    )
    headers = {"Authorization": f"Bearer {KEY}"}
    body = {"name": "b", "restaurants": [{"name": "A"}]}
    async with client.post(BASE, json=body, headers=headers) as response:
        batch = (await response.json())["batch"]
    reads = [f"{BASE}/jobs/{batch['jobs'][0]['id']}", BASE, f"{BASE}/{batch['id']}/progress"]

    async def status_of(path: str) -> int:
        async with client.get(path, headers=headers) as response:
            return response.status

    assert {await status_of(path) for path in reads} == {200}
    cut_off(name, allowed=False)
    cut = time.monotonic()
    assert {await status_of(path) for path in reads} == {503}  # each pool meets the outage
    await asyncio.sleep(OUTAGE_SECONDS - (time.monotonic() - cut))
    cut_off(name, allowed=True)

    async def created() -> int:
        async with client.post(BASE, json=body, headers=headers) as response:
            return 200 if response.status == 201 else response.status

    async def served() -> bool | None:
        statuses = await asyncio.gather(created(), *(status_of(path) for path in reads))
        return True if set(statuses) == {200} else None

    assert await eventually_value(served, timeout=RECONNECT_SECONDS / 2 + 2, interval=0.2)


async def test_every_pool_of_a_process_gives_up_reconnecting_soon(
    aiohttp_client: MakeClient, own_database: tuple[str, str]
) -> None:
    """Each connection pool a process opens on the database (the store's and the views' reads
    the API uses, the engine's leases, and any added later) starts its attempts over after
    RECONNECT_SECONDS, rather than after the library's five minutes of ever longer waits."""
    name, url = own_database
    settings = store_settings(url, api_keys=f"o:{KEY}")
    client: TestClient[Any, Any] = await aiohttp_client(create_app(settings))
    headers = {"Authorization": f"Bearer {KEY}"}
    body = {"name": "b", "restaurants": [{"name": "A"}]}
    async with client.post(BASE, json=body, headers=headers) as response:
        batch = (await response.json())["batch"]
    for path in (BASE, f"{BASE}/{batch['id']}/progress", f"{BASE}/jobs/{batch['jobs'][0]['id']}"):
        async with client.get(path, headers=headers) as response:
            assert response.status == 200

    leases = open_leases(settings)

    def on_this_database(pool: ConnectionPool[Any]) -> bool:
        return f"/{name}" in str(pool.conninfo) or dict(pool.kwargs or {}).get("dbname") == name

    pools = [
        p
        for p in gc.get_objects()
        if isinstance(p, ConnectionPool) and not p.closed and on_this_database(p)
    ]
    leases.close()
    assert len(pools) >= 3
    assert {p.reconnect_timeout for p in pools} == {RECONNECT_SECONDS}


async def test_every_command_answers_at_once_after_the_connections_are_ended(
    aiohttp_client: MakeClient, own_database: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """A command meeting a pooled connection the server ended (a restart, a failover) is
    carried out at once on a live one: never answered 503 while the database is up, and not
    after a retry's wait either. Each command below runs right after every connection to the
    database was ended."""
    _, url = own_database
    settings = store_settings(url, api_keys=f"o:{KEY}")
    client: TestClient[Any, Any] = await aiohttp_client(
        create_app(settings.model_copy(update={"role": "api"}))
    )
    headers = {"Authorization": f"Bearer {KEY}"}
    body = {"name": "b", "restaurants": [{"name": "A"}, {"name": "B"}]}

    async def sent(method: str, path: str, json: Any = None) -> tuple[int, Any]:
        assert end_connections(url) > 0
        async with client.request(method, path, json=json, headers=headers) as response:
            return response.status, await response.json()

    caplog.set_level(logging.INFO, "regflow.storage")
    status, created = await sent("POST", BASE, body)
    assert status == 201, created
    batch = created["batch"]
    first, second = (j["id"] for j in batch["jobs"])
    skip = {"status": "skipped", "reason": "not needed"}
    bulk = {"updates": [skip | {"sub_step": "websiteConfig"}]}
    commands = [
        ("PATCH", f"{BASE}/jobs/{first}/steps/6/sub-steps/menuImport", skip, 200),
        ("PATCH", f"{BASE}/jobs/{first}/steps/6/sub-steps", bulk, 200),
        ("POST", f"{BASE}/{batch['id']}/step-6/start", None, 202),
        ("POST", f"{BASE}/jobs/{second}/cancel", None, 200),
        ("POST", f"{BASE}/jobs/{second}/resume-step-6", None, 200),
        ("POST", f"{BASE}/{batch['id']}/stream-token", None, 200),
        ("POST", BASE, body, 201),
    ]
    answers = [(path, (await sent(method, path, json))[0]) for method, path, json, _ in commands]
    assert answers == [(path, expected) for _, path, _, expected in commands]
    waits = [r.getMessage() for r in caplog.records if "retrying in" in r.getMessage()]
    assert waits == []
    assert any("trying again on a live one" in r.getMessage() for r in caplog.records)
