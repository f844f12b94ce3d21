"""Liveness and readiness: is the process up, can it reach the store, are the views current."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from aiohttp import web

from api.auth import CALLER
from api.errors import NotReady
from api.presenters import ok
from api.services import Services, services_of

log = logging.getLogger("regflow.api")
MAX_VIEW_LAG = 1000
CHECK_TIMEOUT = 5.0
STORE_TIMEOUT = 2.0  # the store's own answer: a store that does not answer is named as such
ENGINE_ROLES = frozenset({"all", "worker"})
CIRCUIT_SAID = {
    "open": "the registration API looks down; calls pause until it answers again",
    "half_open": "probing the registration API after an outage; calls pause until it answers",
}
# The store was not asked: every store thread of this process stayed busy (a burst of reads),
# so this process sheds load until they free up; the store itself may be fine.
BUSY = f"store: busy, no store thread of this process was free within {STORE_TIMEOUT:g} s"
UNREACHABLE = "store: unreachable"
PLAIN = ("engine: ", "circuit: ", BUSY, UNREACHABLE)  # problems that hold no figure


async def live(request: web.Request) -> web.Response:
    """The process answers."""
    return ok(status="live")


async def _checks(services: Services) -> tuple[dict[str, Any], list[str]]:
    checks: dict[str, Any] = {}
    problems: list[str] = []
    asked = threading.Event()  # set once a store thread took the question up

    def head() -> int | None:
        asked.set()
        return services.app.recorder.max_notification_id()

    try:
        found = await asyncio.wait_for(services.run(head), STORE_TIMEOUT)
        checks["store"] = {"reachable": True, "head": found or 0}
    except Exception as exc:  # any failure to answer (a timeout, a lost connection) is one
        busy = isinstance(exc, TimeoutError) and not asked.is_set()
        checks["store"] = {"reachable": False}
        if busy:
            log.warning("readiness: every store thread of this process is busy")
            problems.append(BUSY)
        else:
            log.warning("readiness: store unreachable: %s", type(exc).__name__)
            problems.append(UNREACHABLE)
    engine_health = getattr(services.engine, "health", None)
    if engine_health is not None:
        checks["engine"] = engine_health()
    problems += engine_problems(services.settings.role, checks.get("engine"))
    if services.read_models is not None:
        problems += services.read_models.fold_problems()
    if services.read_models is not None and checks["store"]["reachable"]:
        lag = dict(await services.run(services.read_models.lag))
        checks["view_lag"] = lag
        problems += [f"view {v}: {n} events behind" for v, n in lag.items() if n > MAX_VIEW_LAG]
    return checks, problems


def engine_problems(role: str, health: dict[str, Any] | None) -> list[str]:
    """Why a process whose role runs jobs (`all`, `worker`) cannot do that work now, if it
    cannot: no engine running, or its worker id held elsewhere; and, for a `worker`, the
    registration API's circuit not closed (calls pause). An `all` process serves the API too,
    which operators need most during an outage of the registration API: its circuit is shown
    in the checks, and does not take it out of service. An `api` process is ready whatever any
    engine does; a call waiting out a `Retry-After` leaves the circuit closed."""
    if role not in ENGINE_ROLES:
        return []
    if health is None or not health.get("running", False):
        return [f"engine: not running (a process of role {role} runs jobs)"]
    problems = []
    if not health.get("worker_id_held", True):
        problems.append("engine: its worker id is held by another live process; no job runs here")
    circuit = health.get("circuit", "closed")
    if role == "worker" and circuit != "closed":
        problems.append(f"circuit: {circuit}, {CIRCUIT_SAID.get(circuit, 'calls pause')}")
    return problems


async def ready(request: web.Request) -> web.Response:
    """Ready when the store answers, every view is within MAX_VIEW_LAG events of the log and
    is run by this process's folds when it runs them (not while it rebuilds them from the log,
    nor when it refuses views built by a newer release), and, in a process whose role runs
    jobs, its engine runs (a worker's, with the circuit closed).

    Only an authenticated caller sees the checks' figures (log head, view lag); an anonymous
    probe learns ready or not, and which part is not, without store-wide counts. An engine
    with quarantined jobs is still ready (other jobs run) but says it is degraded.
    """
    trusted = request.get(CALLER) is not None
    try:
        checks, problems = await asyncio.wait_for(_checks(services_of(request)), CHECK_TIMEOUT)
    except TimeoutError:
        raise NotReady("Not ready", ["checks timed out"]) from None
    if problems:
        raise NotReady("Not ready", problems if trusted else anonymous(problems))
    status = "degraded" if checks.get("engine", {}).get("degraded", False) else "ready"
    return ok(status=status, checks=checks) if trusted else ok(status=status)


def anonymous(problems: list[str]) -> list[str]:
    """The problems without their figures: which part is not ready, not by how much. The
    engine's and the circuit's problems hold no figure and are said as they are."""
    return sorted(
        {
            p if p.startswith(PLAIN) else p.split(":", 1)[0].split(" ", 1)[0] + ": not ready"
            for p in problems
        }
    )
