"""Putting an engine together: the executor (real API or embedded simulator) and its lifetime."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from infrastructure.engine.engine import Engine
from infrastructure.executors.http import HttpExecutor
from infrastructure.executors.simulator.main import start_embedded_simulator
from infrastructure.settings import Settings, reveal
from infrastructure.usecases.store import RegistrationStore


@asynccontextmanager
async def http_executor(settings: Settings) -> AsyncIterator[HttpExecutor]:
    """An executor for REGFLOW_REGISTRATION_API_URL, or for an embedded simulator when that says
    `simulator` (or is unset on SQLite); on PostgreSQL an unset URL refuses to start."""
    settings.require_registration_api()
    simulator = None
    url = (settings.registration_api_url or "").strip()
    if settings.uses_simulator:
        simulator, url = await start_embedded_simulator()
    executor = HttpExecutor(
        url, service_key=reveal(settings.service_key), max_connections=settings.max_concurrent_calls
    )
    try:
        yield executor
    finally:
        await executor.close()
        if simulator is not None:
            await simulator.cleanup()


@asynccontextmanager
async def running_engine(
    app: RegistrationStore, settings: Settings, **options: Any
) -> AsyncIterator[Engine]:
    """A started engine over HTTP; stopped gracefully on exit."""
    async with http_executor(settings) as executor:
        options.setdefault("registration_api", settings.registration_api_label)
        engine = Engine(app, executor, settings, **options)
        await engine.start()
        try:
            yield engine
        finally:
            await engine.stop()
