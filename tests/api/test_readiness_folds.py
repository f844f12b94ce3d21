"""Readiness while the views' folds are at stake: a process is not ready while it rebuilds views
built by an older release's folds, nor while it refuses views built by a newer release's, and
says which; reads answer meanwhile, and it is ready again once the views are rebuilt."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest

import api.app
from api.app import create_app
from infrastructure.settings import Settings, reveal
from infrastructure.usecases.registrations import Registrations
from projections.catalogue import fold_versions
from projections.offline.rebuild import rebuilder
from tests.api.conftest import Caller, MakeClient, restaurant
from tests.api.test_readiness import readiness
from tests.conftest import unique_org
from tests.integration.fold_kit import opened, own_store, store_versions, stored
from tests.kit import eventually, eventually_value, restaurants

TIMELINE = fold_versions()["job_timeline"]


@pytest.fixture
def own(api_settings: Settings) -> Iterator[Settings]:
    """A store of this test's own, with views built by this release."""
    with own_store(api_settings.database_url) as url:
        settings = api_settings.model_copy(update={"database_url": url})
        with closing(Registrations(settings)) as app:
            app.create_batch(unique_org(), "user:u", "b", restaurants(2))
            with closing(opened(settings, app)) as views:
                views.catch_up()
        yield settings


async def caller_of(aiohttp_client: MakeClient, settings: Settings) -> Caller:
    org, key = (reveal(settings.api_keys) or "").split(",")[0].split(":", 1)
    return Caller(await aiohttp_client(create_app(settings)), org, key)


async def problems_once(caller: Caller, word: str) -> list[str] | None:
    status, body = await readiness(caller.client, caller.key)
    if status == 503 and any(word in p for p in body["errors"]):
        return list(body["errors"])
    return None


async def test_a_process_rebuilding_its_views_is_not_ready_and_still_answers(
    own: Settings, aiohttp_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_versions(own, job_progress=None)
    release = threading.Event()

    def held(settings: Settings, app: Registrations) -> Any:
        rebuild = rebuilder(settings, app)

        def when_released(schema: Any, names: Any) -> int:
            release.wait(60)
            return rebuild(schema, names)

        return when_released

    monkeypatch.setattr(api.app, "rebuilder", held)
    caller = await caller_of(aiohttp_client, own)
    try:
        found = await eventually_value(lambda: problems_once(caller, "rebuilding"))
        versions = f"fold version unknown -> {fold_versions()['job_progress']}"
        assert found == [f"view job_progress: rebuilding from the log ({versions})"]
        assert (await readiness(caller.client))[1]["errors"] == ["view: not ready"]
        batch = await caller.new_batch(restaurant("During"))
        status, body = await caller.get(f"/api/registration-batches/{batch['id']}")
        assert status == 200 and body["batch"]["total"] == 1, body
    finally:
        release.set()
    await eventually(lambda: stored(own) == fold_versions())
    await eventually_value(lambda: _ready(caller))


async def _ready(caller: Caller) -> bool | None:
    return True if (await readiness(caller.client, caller.key))[0] == 200 else None


async def test_a_process_refusing_views_of_a_newer_fold_is_not_ready_and_says_why(
    own: Settings, aiohttp_client: MakeClient
) -> None:
    store_versions(own, job_timeline=TIMELINE + 1)
    caller = await caller_of(aiohttp_client, own)
    found = await eventually_value(lambda: problems_once(caller, "not run here"))
    assert found[0].startswith(
        f"views: not run here, views built by a newer release's folds: job_timeline (fold version"
        f" {TIMELINE + 1}; this release's: {TIMELINE})"
    )
    assert stored(own)["job_timeline"] == TIMELINE + 1
