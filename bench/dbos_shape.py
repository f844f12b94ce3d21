"""The Step 6 job as a DBOS Transact workflow: the 12 sub-steps of PLAN, phase by phase.

Each sub-step is a DBOS step calling the same in-process fake API as regflow's engine bench
(bench/fake_api.py), with the same latency. Within a phase, steps whose dependencies are done
run together (4; then 1 and 5; then 1; then 1), as the engine runs them. At most
`max_concurrent_jobs` workflows run at once and at most `max_concurrent_calls` calls are in
flight, the engine's defaults. Per-step overhead is measured as bench/overhead.py measures
the engine's: from the moment the step could start (its phase's earlier steps and its
dependencies returned, or the workflow began) to the moment its call left, plus from the
moment the call came back to the moment DBOS handed the step's result back to the workflow
(its checkpoint written). The critical-path figure is the one bench/overhead.py takes for the
engine: a workflow's time not spent in its waves' longest calls, per sub-step.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from bench.fake_api import FakeAPI
from domain.plan import PLAN


def waves() -> list[list[str]]:
    """The sub-steps in the order the engine can run them: per phase, dependencies first."""
    done: set[str] = set()
    order: list[list[str]] = []
    for phase in PLAN.phases:
        remaining = list(PLAN.in_phase(phase))
        while remaining:
            ready = [k for k in remaining if set(PLAN.dependencies(k)) <= done | _before(phase)]
            if not ready:
                raise RuntimeError(f"phase {phase} has a dependency cycle")
            order.append(ready)
            done |= set(ready)
            remaining = [k for k in remaining if k not in ready]
    return order


def _before(phase: str) -> set[str]:
    index = PLAN.phases.index(phase)
    return {k for p in PLAN.phases[:index] for k in PLAN.in_phase(p)}


def run_dbos(
    url: str, jobs: int, max_concurrent_jobs: int = 16, max_concurrent_calls: int = 32
) -> dict[str, Any]:
    """Run `jobs` workflows of the Step 6 shape on DBOS with its system database at `url`."""
    from dbos import DBOS

    api = FakeAPI()
    shape = waves()
    calls: dict[tuple[int, str], tuple[float, float]] = {}
    returned: dict[tuple[int, str], tuple[float, float]] = {}  # (ready, handed back)
    spans: dict[int, tuple[float, float]] = {}  # each workflow's first and last moment

    DBOS(config={"name": "regflow-bench", "system_database_url": url, "log_level": "WARNING"})
    in_flight = asyncio.Semaphore(max_concurrent_calls)

    @DBOS.step()
    async def sub_step(job: int, key: str) -> dict[str, Any]:
        async with in_flight:
            left = time.perf_counter()
            result = await api.answer(f"{job}:{key}")
            calls[(job, key)] = (left, time.perf_counter())
        return result

    async def timed_step(job: int, key: str, ready: float) -> dict[str, Any]:
        result = await sub_step(job, key)
        returned[(job, key)] = (ready, time.perf_counter())
        return result

    @DBOS.workflow()
    async def step6(job: int) -> int:
        began = ready = time.perf_counter()
        for wave in shape:
            await asyncio.gather(*(timed_step(job, key, ready) for key in wave))
            ready = max(returned[(job, key)][1] for key in wave)
        spans[job] = (began, ready)
        return sum(len(wave) for wave in shape)

    async def run_all() -> float:
        slots = asyncio.Semaphore(max_concurrent_jobs)

        async def one(job: int) -> None:
            async with slots:
                handle = await DBOS.start_workflow_async(step6, job)
                assert await handle.get_result() == 12

        started = time.perf_counter()
        await asyncio.gather(*(one(job) for job in range(jobs)))
        return time.perf_counter() - started

    DBOS.launch()
    try:
        elapsed = asyncio.run(run_all())
    finally:
        DBOS.destroy()
    overhead = sorted(
        (left - ready) + (back_to_workflow - back)
        for step, (left, back) in calls.items()
        for ready, back_to_workflow in [returned[step]]
    )
    path = sorted(
        (end - began - sum(max(calls[(job, k)][1] - calls[(job, k)][0] for k in w) for w in shape))
        / 12
        for job, (began, end) in spans.items()
    )
    return {
        "critical_path_overhead_ms_per_step_p50": 1000 * statistics.median(path),
        "seconds": elapsed,
        "jobs_per_s": jobs / elapsed,
        "sub_steps_per_s": jobs * 12 / elapsed,
        "overhead_ms_p50": 1000 * statistics.median(overhead),
        "overhead_ms_p99": 1000 * overhead[int(len(overhead) * 0.99)],
        "max_concurrent_jobs": max_concurrent_jobs,
        "max_concurrent_calls": max_concurrent_calls,
        "waves": [len(wave) for wave in shape],
    }
