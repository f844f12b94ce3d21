"""One simulated run: workers, store, API, crashes and operators on one seeded schedule.

`World` holds one run's state and drives its schedule; its methods share that state (engines,
incarnations, the operations done, what broke), so they stay in one class, and this module is
longer than most. Running a seed and judging it is in `simulation.runs`.
"""

from __future__ import annotations

import asyncio
import copy
import random
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from domain.exceptions import RegflowError
from infrastructure.engine.circuit import CircuitBreaker
from infrastructure.engine.engine import Engine
from infrastructure.engine.identity import HeldForGood, WorkerIdentity
from infrastructure.engine.leases import SqliteLeases
from infrastructure.engine.runner import JobRunner
from infrastructure.errors import is_transient_exception
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from projections.live.service import ReadModelService
from simulation.api import ApiClient, ApiFaults, SimulatedApi
from simulation.loop import SimulatedClock, SimulatedLoop
from simulation.plan import CHAOS_SECONDS, CIRCUIT_THRESHOLD, POLICY, Operation, Plan, make_plan
from simulation.store import FaultyStore, InlineGateway, WorkerLeases

CALM_SECONDS = 7200.0
POLL_SECONDS = 5.0
VIEW_SECONDS = 20.0
ORG = "sim"


@dataclass
class Variant:
    """The engine under test: the real one, or one with a guarantee deliberately broken."""

    name: str = "real"
    engine: type[Engine] = Engine
    runner: type[JobRunner] = JobRunner
    store: type[Registrations] = Registrations


class World:
    """Everything of one run, driven by one loop and one generator."""

    def __init__(self, seed: int, variant: Variant, loop: SimulatedLoop) -> None:
        self.rng = random.Random(seed)
        self.variant = variant
        self.clock = SimulatedClock(loop)
        self.plan: Plan = make_plan(self.rng)
        self.settings = Settings(
            database_url=f"sqlite:///file:regflow-sim-{seed}-{id(self)}?mode=memory&cache=shared",
            secret_key=SecretStr("simulation"),
            lease_seconds=30.0,
            max_concurrent_jobs=8,
            max_concurrent_calls=16,
        )
        self.leases = SqliteLeases(":memory:", "simulation", self.clock)
        # Operators' edits judge a call in flight by this table, as the API judges it by the
        # table beside the events: whether the worker that made it still holds the job.
        self.app = variant.store(self.settings, sleep=loop.advance, leases=self.leases)
        self.store = FaultyStore(self.app, self.plan.store, self.rng, self.clock)
        self.incarnations = [0] * self.plan.workers
        self.api = SimulatedApi(ApiFaults(outages=self.plan.api_outages), self.rng, self.clock)
        self.views = ReadModelService(self.settings, self.app)
        self.engines: list[Engine | None] = [None] * self.plan.workers
        self.job_ids: list[str] = []
        self.operations: list[tuple[Operation, str, str]] = []  # op, actor, outcome
        self.broken: list[str] = []

    def create_jobs(self) -> None:
        items = [
            {"name": f"R{i}", "external_id": f"r-{i}", "execution_config": config}
            for i, config in enumerate(self.plan.configs)
        ]
        self.store.faults.enabled = False
        batch, jobs, _ = self.app.create_batch(ORG, "user:sim", "simulated batch", items)
        self.app.start_step6(ORG, batch.id, None, "user:sim")
        self.store.faults.enabled = True
        self.job_ids = [str(j.id) for j in jobs]
        faults = self.api.faults
        for (job, key), kinds in self.plan.transient.items():
            faults.transient[(self.job_ids[job], key)] = list(kinds)
        faults.permanent = {(self.job_ids[job], key) for job, key in self.plan.permanent}

    async def start_worker(self, number: int) -> None:
        self.incarnations[number] += 1
        incarnation = f"w{number}.{self.incarnations[number]}"
        identity = WorkerIdentity(f"w{number}", HeldForGood(), incarnation)
        table = copy.copy(self.leases)  # one table, this process's incarnation
        table.incarnation = incarnation
        leases = WorkerLeases(table, self.clock)
        engine = self.variant.engine(
            self.app,
            ApiClient(self.api, f"w{number}", self.leases),
            self.settings.model_copy(update={"worker_id": f"w{number}"}),
            leases=leases,  # type: ignore[arg-type]
            identity=identity,
            clock=self.clock,
            random=self.rng.random,
            policies={"*": POLICY},
            gateway=InlineGateway(self.app),
            runner=self.variant.runner,
            poll_seconds=POLL_SECONDS,
            circuit=CircuitBreaker(
                threshold=CIRCUIT_THRESHOLD, cooldown=0.5, max_cooldown=4.0, clock=self.clock
            ),
        )
        self.engines[number] = engine
        await engine.start()

    async def crash(self, number: int) -> None:
        """Kill the worker: its memory is gone, its leases are left to expire."""
        engine = self.engines[number]
        if engine is None:
            return
        self.engines[number] = None
        engine.shared.gateway.close()
        engine.leases.close()
        tasks = list(engine._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def partition(self, window: tuple[float, float]) -> None:
        """Cut the worker running the most jobs off the lease table (not off the store)."""
        live = [e for e in self.engines if e is not None]
        if live:
            busiest = max(live, key=lambda e: len(e.runners))
            busiest.leases.partitions.append(window)  # type: ignore[attr-defined]

    def operate(self, op: Operation) -> None:
        """An operator command through the use-case layer, as the API would send it."""
        actor = f"operator:op{len(self.operations)}"
        job_id = self.job_ids[op.job]
        try:
            changed = self._command(op, job_id, actor)
            result = "done" if changed else "no-op"
        except RegflowError:
            result = "refused"
        except Exception as exc:
            if not is_transient_exception(exc):
                self.broken.append(f"operator {op.kind} raised {type(exc).__name__}: {exc}")
            result = "unknown"
        self.operations.append((op, actor, result))
        for engine in self.engines:
            if engine is not None:
                engine.wake([job_id])

    def _command(self, op: Operation, job_id: str, actor: str) -> bool:
        """Run the command; whether it changed anything."""
        if op.kind == "cancel":
            return bool(self.app.cancel(None, job_id, actor, "simulated operator").events)
        if op.kind == "resume":
            return self.app.resume(None, job_id, actor)[2]
        target = "pending" if op.kind == "reset" else op.status
        self.app.edit(None, job_id, [(op.sub_step, target, None)], actor, "simulated")
        return True

    def timeline(self) -> list[tuple[float, str, Any]]:
        """Every scheduled action, in time order."""
        actions: list[tuple[float, str, Any]] = []
        for at, worker, down in self.plan.crashes:
            actions += [(at, "crash", worker), (at + down, "restart", worker)]
        actions += [(op.at, "operate", op) for op in self.plan.operations]
        actions += [(a, "partition", (a, b)) for a, b in self.plan.partitions]
        actions.append((CHAOS_SECONDS, "heal", None))
        return sorted(actions, key=lambda a: (a[0], a[1]))

    async def follow_views(self) -> None:
        """The read models, kept current from the log as the live process does (faults and all)."""
        while True:
            await asyncio.sleep(VIEW_SECONDS)
            try:
                self.views.catch_up()
            except Exception as exc:
                if not is_transient_exception(exc):
                    self.broken.append(f"the views broke: {type(exc).__name__}: {exc}")
                    return

    async def run(self) -> None:
        self.create_jobs()
        views = asyncio.ensure_future(self.follow_views())
        for number in range(self.plan.workers):
            await self.start_worker(number)
        for at, kind, what in self.timeline():
            await asyncio.sleep(max(0.0, at - self.clock.monotonic()))
            if kind == "crash":
                await self.crash(what)
            elif kind == "restart" and self.engines[what] is None:
                await self.start_worker(what)
            elif kind == "operate":
                self.operate(what)
            elif kind == "partition":
                self.partition(what)
            elif kind == "heal":
                await self.heal()
        await self.settle()
        views.cancel()

    async def heal(self) -> None:
        self.store.heal()
        self.api.faults.enabled = False
        for number, engine in enumerate(self.engines):
            if engine is None:
                await self.start_worker(number)

    async def settle(self) -> None:
        """Wait (in simulated time) until nothing is in progress or running, then stop."""
        deadline = self.clock.monotonic() + CALM_SECONDS
        while self.clock.monotonic() < deadline:
            await asyncio.sleep(5.0)
            running = any(e is not None and e.runners for e in self.engines)
            busy = any(self.app.job(j).status == "in_progress" for j in self.job_ids)
            if not running and not busy and not any(self.api.in_flight.values()):
                break
        for engine in self.engines:
            if engine is not None:
                await engine.stop(grace=30.0)
