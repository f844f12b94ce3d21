"""The aiohttp application: middlewares, the route table, and resources in cleanup_ctx."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from api.auth import Authenticator, auth_middleware
from api.caching import gzip_middleware
from api.console import add_console_routes
from api.errors import error_middleware
from api.metrics import metrics_middleware
from api.progress_hub import end_streams, open_progress_hub
from api.routes import BASE, ROUTES, WORKER_ROUTES
from api.routing import ROUTE_TABLE, add_routes
from api.services import SERVICES, ReadModels, Services, Waker, pool_size
from api.stream_tokens import TICKETS, StreamTickets
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations

log = logging.getLogger("regflow.api")


async def open_thread_pool(app: web.Application) -> AsyncIterator[None]:
    """The bounded pool that runs every blocking call of the store and the read models."""
    services = app[SERVICES]
    services.pool = ThreadPoolExecutor(
        pool_size(services.settings), thread_name_prefix="regflow-api"
    )
    yield
    services.pool.shutdown(wait=True, cancel_futures=True)


async def open_store(app: web.Application) -> AsyncIterator[None]:
    """The use-case layer, opened here unless one was given."""
    services = app[SERVICES]
    owned = services.registrations is None
    if owned:
        services.registrations = await services.run(Registrations, services.settings)
    yield
    if owned and services.registrations is not None:
        await services.run(services.registrations.close)


async def open_read_models(app: web.Application) -> AsyncIterator[None]:
    """The read models, started here unless they were given."""
    services = app[SERVICES]
    owned = services.read_models is None
    if owned:
        from projections.live.service import ReadModelService

        services.read_models = ReadModelService(services.settings, services.app)
        await services.run(services.read_models.start)
    yield
    if owned and services.read_models is not None:
        await services.run(services.read_models.stop)


def create_app(
    settings: Settings,
    *,
    registrations: Registrations | None = None,
    read_models: ReadModels | None = None,
    engine: Waker | None = None,
) -> web.Application:
    """The API (or, for the worker role, only health and metrics) over the given services."""
    routes = WORKER_ROUTES if settings.role == "worker" else ROUTES
    tickets = StreamTickets(settings)
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            gzip_middleware,
            metrics_middleware,
            error_middleware,
            auth_middleware(Authenticator(settings), tickets),
        ],
    )
    app[SERVICES] = Services(settings, registrations, read_models, engine)
    app[ROUTE_TABLE] = routes
    app.cleanup_ctx.extend([open_thread_pool, open_store, open_read_models, open_progress_hub])
    app[TICKETS] = tickets
    app.on_shutdown.append(end_streams)
    add_routes(app, routes, BASE)
    if settings.role != "worker":
        add_console_routes(app)
    return app
