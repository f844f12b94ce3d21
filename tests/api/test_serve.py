"""`regflow serve` configuration and the roles' route sets."""

from __future__ import annotations

import argparse
from pathlib import Path

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


def test_the_development_key_survives_a_restart_in_the_default_organisation(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("REGFLOW_JWT_SECRET", raising=False)
    monkeypatch.delenv("REGFLOW_API_KEYS", raising=False)
    monkeypatch.setenv("REGFLOW_DATABASE_URL", f"sqlite:///{tmp_path / 'data' / 'regflow.db'}")
    monkeypatch.setenv("REGFLOW_DEFAULT_ORG", "acme")
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    settings, key = configured(serve_args())
    again, same = configured(serve_args())
    assert key and same == key and reveal(again.api_keys) == f"acme:{key}"
    kept = tmp_path / "data" / "regflow.api-key"
    assert kept.read_text().strip() == key and kept.stat().st_mode & 0o077 == 0
