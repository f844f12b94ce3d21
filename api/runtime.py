"""The composition root: settings -> store -> read models -> executor -> engine -> the app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import cast

from aiohttp import web

from api.app import create_app
from api.services import SERVICES
from infrastructure.engine import Engine
from infrastructure.engine.wiring import running_engine
from infrastructure.executors.http import HttpExecutor
from infrastructure.logs import announce
from infrastructure.settings import Settings

log = logging.getLogger("regflow.runtime")


@dataclass
class Runtime:
    """What the engine context started, for tests and `serve` to inspect."""

    simulator_url: str | None = None
    engine: Engine | None = None


RUNTIME = web.AppKey("runtime", Runtime)


async def run_engine(app: web.Application) -> AsyncIterator[None]:
    """Run Step 6 in this process until the app stops."""
    services, runtime = app[SERVICES], app[RUNTIME]
    settings = services.settings
    async with running_engine(services.app, settings) as engine:
        services.engine = runtime.engine = engine
        services.flow = engine.shared.flow
        url = cast(HttpExecutor, engine.shared.executor).base_url
        runtime.simulator_url = url if settings.uses_simulator else None
        log.info(
            "engine %s running against %s (%s)",
            engine.worker_id,
            url,
            settings.registration_api_label,
        )
        log.info("API flow control: %s", engine.shared.flow.describe())
        if runtime.simulator_url:
            example = (
                f"curl -X PUT {url}/_simulator/faults "
                '-d \'{"faults": [{"kind": "bad_request", "endpoint": "menuImport"}]}\''
            )
            announce(
                f"built-in simulator of the registration API at {url}\n"
                f"  make a sub-step fail: {example}",
                simulator_url=url,
                make_a_sub_step_fail=example,
            )
        try:
            yield
        finally:
            services.engine = None
            services.flow = None


def build_app(settings: Settings) -> web.Application:
    """The app for the settings' role: `all` and `worker` run the engine, `api` does not."""
    app = create_app(settings)
    app[RUNTIME] = Runtime()
    if settings.role in ("all", "worker"):
        settings.require_registration_api()
        app.cleanup_ctx.append(run_engine)
    return app
