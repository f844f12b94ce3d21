"""A simulator of the registration API: same endpoints, latency, faults, idempotency, a record.

This module is its aiohttp application: the sub-step endpoints and the `/_simulator` controls;
`serving` answers the calls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import ValidationError

from domain.plan import SUB_STEPS, SubStep
from infrastructure.executors.simulator.faults import FaultSettings, SimulatorConfig
from infrastructure.executors.simulator.serving import Simulator

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


SIMULATOR = web.AppKey("simulator", Simulator)


def _endpoint(step: SubStep) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await request.app[SIMULATOR].serve(request, step)

    return handle


async def put_faults(request: web.Request) -> web.Response:
    """Set the fault rules (and optionally latencies) at run time."""
    try:
        settings = FaultSettings.model_validate_json(await request.read())
    except ValidationError as exc:
        errors = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        body = {"success": False, "message": "Invalid fault settings", "errors": errors}
        return web.json_response(body, status=400)
    request.app[SIMULATOR].configure(settings)
    return await get_faults(request)


async def get_faults(request: web.Request) -> web.Response:
    """The fault rules and latencies in force."""
    simulator = request.app[SIMULATOR]
    rules = [rule.model_dump() for rule in simulator.faults.rules]
    capacity = simulator.capacity.model_dump() if simulator.capacity else None
    body = {"faults": rules, "latency": simulator.latency, "capacity": capacity}
    return web.json_response({"success": True, **body})


async def get_calls(request: web.Request) -> web.Response:
    """Every call received, in order of arrival."""
    simulator = request.app[SIMULATOR]
    calls = [call.as_dict() for call in simulator.calls]
    peak = {"in_flight": simulator.in_flight, "peak_in_flight": simulator.peak_in_flight}
    return web.json_response({"success": True, "calls": calls, **peak})


async def delete_calls(request: web.Request) -> web.Response:
    """Forget the calls received (stored answers are kept)."""
    simulator = request.app[SIMULATOR]
    cleared = len(simulator.calls)
    simulator.calls.clear()
    simulator.peak_in_flight = simulator.in_flight
    return web.json_response({"success": True, "cleared": cleared})


async def health(request: web.Request) -> web.Response:
    """The simulator is up."""
    return web.json_response({"success": True, "status": "ok"})


async def _release_hung_calls(app: web.Application) -> None:
    app[SIMULATOR].stopping.set()


def create_simulator(config: SimulatorConfig | None = None) -> web.Application:
    """The simulated registration API as an aiohttp application."""
    app = web.Application()
    app[SIMULATOR] = Simulator(config or SimulatorConfig())
    for step in SUB_STEPS:
        app.router.add_post(step.endpoint, _endpoint(step), name=step.key)
    app.router.add_put("/_simulator/faults", put_faults)
    app.router.add_get("/_simulator/faults", get_faults)
    app.router.add_get("/_simulator/calls", get_calls)
    app.router.add_delete("/_simulator/calls", delete_calls)
    app.router.add_get("/_simulator/health", health)
    app.on_shutdown.append(_release_hung_calls)
    return app
