"""`regflow serve` configuration and the roles' route sets."""

from __future__ import annotations

import argparse

import pytest

from api.app import create_app
from api.cli.serve import configured
from infrastructure.settings import Settings, reveal
from tests.api.conftest import BASE, Caller, MakeClient


def serve_args(**given: object) -> argparse.Namespace:
    return argparse.Namespace(**({"host": None, "port": None, "role": None} | given))


class TestServeConfiguration:
    def test_without_auth_a_development_key_is_made(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.delenv("REGFLOW_JWT_SECRET", raising=False)
        monkeypatch.delenv("REGFLOW_API_KEYS", raising=False)
        monkeypatch.chdir("/tmp")
        settings, key = configured(serve_args(port=9999, role="api"))
        assert key and reveal(settings.api_keys) == f"dev:{key}"
        assert (settings.port, settings.role) == (9999, "api")

    def test_configured_auth_is_kept(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("REGFLOW_API_KEYS", "acme:k1")
        monkeypatch.chdir("/tmp")
        settings, key = configured(serve_args())
        assert (key, reveal(settings.api_keys)) == (None, "acme:k1")


async def test_worker_role_serves_only_health_and_metrics(
    aiohttp_client: MakeClient, api_settings: Settings
) -> None:
    client = await aiohttp_client(create_app(api_settings.model_copy(update={"role": "worker"})))
    org, key = (reveal(api_settings.api_keys) or "").split(",")[0].split(":", 1)
    caller = Caller(client, org, key)
    assert (await caller.get("/health/live"))[0] == 200
    assert (await caller.get(BASE))[0] == 404
    async with client.get("/metrics", headers={"Authorization": f"Bearer {key}"}) as response:
        assert response.status == 200
