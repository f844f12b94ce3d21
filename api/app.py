"""The aiohttp application: middlewares, the route table, and resources in cleanup_ctx."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web

from api import protocol
from api.admission import WaitingCalls, admission_middleware
from api.auth import Authenticator, auth_middleware
from api.caching import gzip_middleware
from api.console import add_console_routes
from api.errors import error_middleware
from api.metrics import count_answer, metrics_middleware
from api.progress_hub import end_streams, open_progress_hub
from api.routes import BASE, ROUTES, WORKER_ROUTES
from api.routing import ROUTE_TABLE, add_routes
from api.services import SERVICES, Services, pool_size
from api.stream_tokens import TICKETS, StreamTickets
from api.tracing import tracing_middleware
from infrastructure.settings import Settings
from infrastructure.tracing import active_tracer
from infrastructure.usecases.registrations import Registrations
from projections.live.service import ReadModelService
from projections.offline.rebuild import rebuilder

log = logging.getLogger("regflow.api")


async def open_thread_pool(app: web.Application) -> AsyncIterator[None]:
    """The bounded pool that runs every blocking call of the store and the read models."""
    services = app[SERVICES]
    threads = pool_size(services.settings)
    services.pool = ThreadPoolExecutor(threads, thread_name_prefix="regflow-api")
    services.waiting = WaitingCalls(threads)
    yield
    services.pool.shutdown(wait=True, cancel_futures=True)


async def open_store(app: web.Application) -> AsyncIterator[None]:
    """The use-case layer."""
    services = app[SERVICES]
    registrations = await services.run(Registrations, services.settings)
    services.registrations = registrations
    yield
    await services.run(registrations.close)


async def open_read_models(app: web.Application) -> AsyncIterator[None]:
    """The read models, kept current by their runners while the app lives (views built by an
    older release's folds are rebuilt from the log first)."""
    services = app[SERVICES]
    settings, store = services.settings, services.app
    read_models = ReadModelService(settings, store, rebuild=rebuilder(settings, store))
    services.read_models = read_models
    read_models.watch(services.answers)
    await services.run(read_models.start)
    latest = services.open_latest()
    yield
    await latest.close()
    await services.run(read_models.stop)


def create_app(settings: Settings) -> web.Application:
    """The API (or, for the worker role, only health and metrics) over the given services."""
    routes = WORKER_ROUTES if settings.role == "worker" else ROUTES
    tickets = StreamTickets(settings)
    tracer = active_tracer()
    protocol.install()
    services = Services(settings)
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            *([tracing_middleware(tracer)] if tracer is not None else []),
            gzip_middleware,
            metrics_middleware,
            admission_middleware(lambda: services.waiting, BASE),
            error_middleware,
            auth_middleware(Authenticator(settings), tickets),
        ],
    )
    app.on_response_prepare.append(count_answer)
    app[SERVICES] = services
    app[ROUTE_TABLE] = routes
    app.cleanup_ctx.extend([open_thread_pool, open_store, open_read_models, open_progress_hub])
    app[TICKETS] = tickets
    app.on_shutdown.append(end_streams)
    add_routes(app, routes, BASE)
    if settings.role != "worker":
        add_console_routes(app)
    return app
