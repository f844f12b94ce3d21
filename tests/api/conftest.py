"""API fixtures: an app on SQLite and PostgreSQL, callers of two organisations, job drivers."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from api.app import create_app
from api.services import SERVICES
from domain.job import RegistrationJob
from infrastructure.engine import Leases, open_leases
from infrastructure.settings import Settings, reveal
from tests import kit
from tests.conftest import unique_org

BASE = "/api/registration-batches"
JWT_SECRET = "test-jwt-secret-of-enough-length-for-hs256"
PASSWORD = kit.PASSWORD

Client = TestClient[Any, Any]
MakeClient = Callable[..., Awaitable[Client]]


def refused_for(answer: tuple[int, Any], status: int, field: str) -> None:
    """The answer refuses with `status`, and its first error names `field`."""
    code, body = answer
    assert code == status
    assert body["errors"][0].startswith(f"{field}:")


def restaurant(name: str = "Buzz", **config: Any) -> dict[str, Any]:
    """A restaurant with every section on and a password to keep secret."""
    return kit.restaurant(name, **config)


class Caller:
    """One organisation's HTTP client: sends its key, returns (status, body)."""

    def __init__(self, client: TestClient[Any, Any], org: str, key: str) -> None:
        self.client, self.org, self.key = client, org, key

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.key}"} | kwargs.pop("headers", {})
        async with self.client.request(method, path, headers=headers, **kwargs) as response:
            body = await response.json() if response.content_type == "application/json" else None
            return response.status, body

    async def get(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        return await self.call("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        return await self.call("POST", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> tuple[int, Any]:
        return await self.call("PATCH", path, **kwargs)

    async def new_batch(self, *restaurants: dict[str, Any]) -> dict[str, Any]:
        status, body = await self.post(
            BASE,
            json={"name": "Auckland week 48", "restaurants": list(restaurants) or [restaurant()]},
        )
        assert status == 201, body
        return dict(body["batch"])

    async def started_job(self, **config: Any) -> str:
        batch = await self.new_batch(restaurant(**config))
        status, body = await self.post(f"{BASE}/{batch['id']}/step-6/start")
        assert status == 202, body
        return str(batch["jobs"][0]["id"])


@pytest.fixture
def api_settings(settings: Settings) -> Settings:
    org_a, org_b = unique_org(), unique_org()
    keys = f"{org_a}:key-a-{uuid.uuid4().hex},{org_b}:key-b-{uuid.uuid4().hex}"
    return settings.model_copy(update={"api_keys": keys, "jwt_secret": JWT_SECRET, "role": "api"})


@pytest.fixture
async def client(aiohttp_client: MakeClient, api_settings: Settings) -> TestClient[Any, Any]:
    return await aiohttp_client(create_app(api_settings))


def _callers(client: TestClient[Any, Any], settings: Settings) -> list[Caller]:
    pairs = [entry.split(":", 1) for entry in (reveal(settings.api_keys) or "").split(",")]
    return [Caller(client, org, key) for org, key in pairs]


@pytest.fixture
def org_a(client: TestClient[Any, Any], api_settings: Settings) -> Caller:
    return _callers(client, api_settings)[0]


@pytest.fixture
def org_b(client: TestClient[Any, Any], api_settings: Settings) -> Caller:
    return _callers(client, api_settings)[1]


@pytest.fixture
def leases(api_settings: Settings) -> Iterator[Leases]:
    """The engine's lease table beside the app's store, for tests that play a worker."""
    table = open_leases(api_settings)
    yield table
    table.close()


RESULTS = {"codeGeneration": {"codeInjectionId": "ci-1"}}


def run_job(
    client: TestClient[Any, Any], job_id: str, failing: Iterable[str] = (), until: str = "phase4"
) -> RegistrationJob:
    """Play the engine: run sub-steps (failing those named) up to phase `until`, then stop."""
    store = client.app[SERVICES].app
    job = store.job(job_id)
    job.claim("test-worker")
    while (ready := job.runnable()) and str(job.current_phase) <= until:
        for key in ready:
            job.start_sub_step(key)
            if key in failing:
                job.fail_sub_step(key, "HTTP 400: rejected", transient=False)
            else:
                job.complete_sub_step(key, RESULTS.get(key, {}))
    if job.all_settled():
        job.finish()
    else:
        job.cancel("engine", "stopped by the test")
    saved = store.store(job)
    client.app[SERVICES].views.wait_for(saved.position)
    return job
