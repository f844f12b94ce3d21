"""The composition root: settings -> store -> read models -> executor -> engine -> the app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web

from api.app import create_app
from api.services import SERVICES
from infrastructure.engine import Engine
from infrastructure.executors.http import HttpExecutor
from infrastructure.executors.simulator_faults import SimulatorConfig
from infrastructure.executors.simulator_main import start_embedded_simulator
from infrastructure.settings import Settings

log = logging.getLogger("regflow.runtime")


@dataclass
class Runtime:
    """What the engine context started, for tests and `serve` to inspect."""

    simulator_url: str | None = None
    engine: Engine | None = None
    notes: list[str] = field(default_factory=list)


RUNTIME = web.AppKey("runtime", Runtime)


async def open_executor(settings: Settings) -> tuple[HttpExecutor, web.AppRunner | None, str]:
    """The registration API client, or the embedded simulator and a client for it."""
    if settings.registration_api_url:
        url, runner = settings.registration_api_url, None
    else:
        runner, url = await start_embedded_simulator(SimulatorConfig())
    executor = HttpExecutor(
        url, service_key=settings.service_key, max_connections=settings.max_concurrent_calls
    )
    return executor, runner, url


async def run_engine(app: web.Application) -> AsyncIterator[None]:
    """Run Step 6 in this process, fed by the read models, until the app stops."""
    services, runtime = app[SERVICES], app[RUNTIME]
    executor, simulator, url = await open_executor(services.settings)
    runtime.simulator_url = url if simulator is not None else None
    engine = Engine(services.app, executor, services.settings, work_source=services.read_models)
    services.engine = runtime.engine = engine
    await engine.start()
    log.info(
        "engine %s running against %s", engine.worker_id, "the simulator" if simulator else url
    )
    try:
        yield
    finally:
        services.engine = None
        await engine.stop()
        await executor.close()
        if simulator is not None:
            await simulator.cleanup()


def build_app(settings: Settings) -> web.Application:
    """The app for the settings' role: `all` and `worker` run the engine, `api` does not."""
    app = create_app(settings)
    app[RUNTIME] = Runtime()
    if settings.role in ("all", "worker"):
        app.cleanup_ctx.append(run_engine)
    return app
