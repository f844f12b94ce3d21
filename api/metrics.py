"""Prometheus metrics: requests and latencies by route template, plus the engine's and views'."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

import infrastructure.metrics  # noqa: F401  (registers the engine's metrics in every role)
from api.auth import caller_of
from api.routing import Handler, route_template
from api.services import Services, services_of
from infrastructure.errors import is_transient_exception

log = logging.getLogger("regflow.api")
ORGANISATION_LABEL = b'organisation="'

REQUESTS = Counter(
    "regflow_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "regflow_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
VIEW_LAG = Gauge("regflow_api_view_lag_events", "Events the read models are behind", ["view"])
KNOWN_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


# How long a scrape waits for the views' lag: when the store does not answer, the scrape
# answers without it (the gauges keep their last values) well within a scraper's timeout.
LAG_READ_SECONDS = 1.0
STARTED = web.RequestKey("metrics_started", float)
COUNTED = web.RequestKey("metrics_counted", bool)


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Note when a request arrives; `count_answer` counts it when its answer is sent."""
    request[STARTED] = time.perf_counter()
    return await handler(request)


async def count_answer(request: web.Request, response: web.StreamResponse) -> None:
    """Count an answer and time it, labelled by method, template and the status it is sent
    with, as its headers go out (an `on_response_prepare` signal): a static file found
    missing, a raised HTTP error, a stream or an unhandled error's 500 alike, once a request."""
    started = request.get(STARTED)
    if started is None or request.get(COUNTED):
        return
    request[COUNTED] = True
    method = request.method if request.method in KNOWN_METHODS else "OTHER"
    route = route_template(request)
    REQUESTS.labels(method, route, str(response.status)).inc()
    LATENCY.labels(method, route).observe(time.perf_counter() - started)


async def metrics(request: web.Request) -> web.Response:
    """Every metric of this process in Prometheus' text format, the series labelled with an
    organisation only for the caller's own: another's would tell it who else is served."""
    await _read_view_lag(services_of(request))
    body = own_series(generate_latest(REGISTRY), caller_of(request).organisation_id)
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    return response


def own_series(exposition: bytes, organisation: str) -> bytes:
    """`exposition` (Prometheus' text format) without the samples labelled with another
    organisation than `organisation`."""
    escaped = organisation.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    own = f'organisation="{escaped}"'.encode()
    return b"".join(
        line
        for line in exposition.splitlines(keepends=True)
        if line.startswith(b"#") or ORGANISATION_LABEL not in line or own in line
    )


async def _read_view_lag(services: Services) -> None:
    """Set the views' lag gauges, if the lag can be read within LAG_READ_SECONDS."""
    views = services.read_models
    if views is None:
        return
    if services.lag_reading is None or services.lag_reading.done():
        services.lag_reading = asyncio.ensure_future(services.run(views.lag))
        services.lag_reading.add_done_callback(_ended_unawaited)
    try:
        lags = await asyncio.wait_for(asyncio.shield(services.lag_reading), LAG_READ_SECONDS)
    except TimeoutError:
        log.warning("metrics: view lag unavailable: the store did not answer in time")
        return
    except Exception as exc:
        if not is_transient_exception(exc):
            raise  # a fault of the code, not of the store: loud, as any other
        log.warning("metrics: view lag unavailable: %s", type(exc).__name__)
        return
    for view, lag in dict(lags).items():
        VIEW_LAG.labels(str(view)).set(lag)


def _ended_unawaited(reading: asyncio.Future[Any]) -> None:
    """A lag reading's failure is said by the scrape that waits for it; one that outlasted
    every scrape's wait (the store down) was said then, as unavailable: a transient failure is
    not said again, nor left for asyncio to log as never retrieved; a fault of the code is
    logged as one."""
    if reading.cancelled():
        return
    exc = reading.exception()
    if exc is not None and not is_transient_exception(exc):
        log.error("metrics: reading the views' lag failed", exc_info=exc)
