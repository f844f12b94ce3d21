"""Two live servers on one store, a client retrying one create against both at once (as behind
a load balancer after a lost answer): one batch is made, and every answer names it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from domain.batch import RegistrationBatch
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.conftest import unique_org
from tests.kit import free_port, restaurants
from tests.reliability.test_live_workers import process_env, ready, spawn, stop

pytestmark = pytest.mark.slow


async def test_two_servers_make_one_batch_of_one_key(
    app: Registrations, settings: Settings, tmp_path: Path
) -> None:
    org, key = unique_org(), "api-key-of-the-test"
    env = process_env(settings, "simulator", REGFLOW_API_KEYS=f"{org}:{key}", REGFLOW_ROLE="api")
    ports = [free_port(), free_port()]
    servers = [await spawn(env, tmp_path, "serve", "--port", str(p)) for p in ports]
    payload = {"name": "drive", "restaurants": restaurants(400)}
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "drive-2026-12-04"}
    try:
        for port, server in zip(ports, servers, strict=True):
            await ready(port, server)
        async with aiohttp.ClientSession() as session:

            async def create(port: int) -> tuple[int, dict[str, object]]:
                url = f"http://127.0.0.1:{port}/api/registration-batches?brief=1"
                async with session.post(url, json=payload, headers=headers) as answer:
                    return answer.status, await answer.json()

            answers = await asyncio.gather(*(create(ports[i % 2]) for i in range(8)))
    finally:
        for server in servers:
            await stop(server)
    assert {status for status, _ in answers} == {201}, answers
    made = {body["batch"]["id"] for _, body in answers}  # type: ignore[index]
    assert len(made) == 1
    assert batches_in_log(app, org) == made


def batches_in_log(app: Registrations, org: str) -> set[str]:
    """The ids of the organisation's batches, read from the log itself."""
    topic = RegistrationBatch.Created.TOPIC
    found: set[str] = set()
    for notification in app.recorder.select_notifications(1, 1_000_000, topics=[topic]):
        created = app.mapper.to_domain_event(notification)
        if created.organisation_id == org:
            found.add(str(created.originator_id))
    return found
