"""Benchmark: 1,000 jobs x 12 sub-steps through the engine, against a raw psycopg floor and DBOS."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import uvloop

from bench.dbos_shape import waves
from bench.fake_api import FakeAPI
from bench.kit import save
from bench.overhead import TimedExecutor, critical_path_overheads, overheads
from bench.scratch import scratch_postgres
from domain.plan import PLAN
from infrastructure import tracing
from infrastructure.engine import Engine
from infrastructure.executors.http import HttpExecutor
from infrastructure.executors.port import CallOutcome, SubStepCall
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations

CASES = [
    "sqlite-inprocess",
    "sqlite-http",
    "postgres-inprocess",
    "postgres-inprocess-traced",
    "postgres-http",
    "raw",
    "dbos",
]
# The event loop the engine runs on: regflow's (`serve`, `work`) first.
LOOPS = ("uvloop", "asyncio")
# Tracing on for the `-traced` case: every span to a file through the console exporter.
TRACED = {"OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "regflow-bench"}
CONFIG = {
    "account": {"email": "a@example.com", "password": "pw"},
    "restaurant": {"name": "Bench"},
    "menu": {"menu_id": "m-1"},
    "payment": {"enabled": True},
    "onboarding_user": {"enabled": True},
}


class InProcessExecutor:
    """The in-process fake API (bench/fake_api.py) as the engine's executor."""

    def __init__(self) -> None:
        self.api = FakeAPI()

    async def call(self, call: SubStepCall) -> CallOutcome:
        result = await self.api.answer(call.idempotency_key)
        return CallOutcome(ok=True, result=result, status=200)

    async def close(self) -> None:
        return None


async def simulator_process(
    config: Path | None = None, **options: Any
) -> tuple[asyncio.subprocess.Process, str]:
    """The registration API simulator in a process of its own, as a remote API would be."""
    port = free_port()
    extra = ["--config", str(config)] if config is not None else []
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "infrastructure.executors.simulator.main", "--port", str(port),
        *extra, **options,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(f"{base}/_simulator/health") as response:
                    if response.status == 200:
                        return process, base
            except aiohttp.ClientError:
                await asyncio.sleep(0.05)
    raise RuntimeError("the simulator did not start")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def jobs_of(app: Registrations, batch_id: Any) -> list[list[Any]]:
    """Each job of the batch as its list of events."""
    return [list(app.events.get(job_id)) for job_id in app.batch(batch_id).job_ids]


async def engine_case(url: str, transport: str, jobs: int, traced: bool = False) -> dict[str, Any]:
    if traced:
        spans = tempfile.NamedTemporaryFile("w", suffix=".spans.jsonl", delete=False)  # noqa: SIM115
        assert tracing.configure(TRACED, console_out=spans)
    settings = Settings(
        _env_file=None, database_url=url, secret_key="bench", worker_id="bench-worker"
    )
    app = Registrations(settings)
    items = [{"name": f"R{i}", "execution_config": CONFIG} for i in range(jobs)]
    batch, _, _ = app.create_batch("org-bench", "user:bench", "bench", items)
    app.start_step6("org-bench", batch.id, None, "user:bench")
    simulator = None
    if transport == "http":
        simulator, base = await simulator_process()
        executor: Any = HttpExecutor(base, max_connections=settings.max_concurrent_calls)
    else:
        executor = InProcessExecutor()
    timed = TimedExecutor(executor)
    engine = Engine(app, timed, settings)
    started, cpu_started = time.perf_counter(), time.process_time()
    loop_started = time.thread_time()  # this thread runs the event loop: the engine's own work
    await engine.start()
    assert await engine.run_until_idle(3600)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    loop_cpu = time.thread_time() - loop_started
    status = engine.status()
    await engine.stop()
    logs = jobs_of(app, batch.id)
    overhead = sorted(s for job in logs for s in overheads(job, timed.calls))
    path = sorted(s for job in logs for s in critical_path_overheads(job, timed.calls, waves()))
    await executor.close()
    if simulator is not None:
        simulator.terminate()
        await simulator.wait()
    app.close()
    if traced:
        tracing.shutdown()
    steps = jobs * len(PLAN.keys)
    return {
        "seconds": elapsed,
        "jobs_per_s": jobs / elapsed,
        "sub_steps_per_s": steps / elapsed,
        "cpu_ms_per_job": 1000 * cpu / jobs,
        "loop_cpu_ms_per_job": 1000 * loop_cpu / jobs,
        "other_threads_cpu_ms_per_job": 1000 * (cpu - loop_cpu) / jobs,
        "events_per_s": status["events_committed"] / elapsed,
        "events": status["events_committed"],
        "commits": status["commits"],
        "overhead_ms_p50": 1000 * statistics.median(overhead),
        "overhead_ms_p99": 1000 * overhead[int(len(overhead) * 0.99)],
        "critical_path_overhead_ms_per_step_p50": 1000 * statistics.median(path),
        "max_concurrent_jobs": settings.max_concurrent_jobs,
        "peak_rss_mb": peak_rss_mb(),
    }


def raw_case(url: str, jobs: int) -> dict[str, Any]:
    """The floor: one INSERT (autocommitted) per sub-step."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE steps (job int, step text, result jsonb)")
        started = time.perf_counter()
        for job in range(jobs):
            for key in PLAN.keys:
                conn.execute("INSERT INTO steps VALUES (%s, %s, %s)", (job, key, '{"ok": true}'))
        elapsed = time.perf_counter() - started
    return {
        "seconds": elapsed,
        "jobs_per_s": jobs / elapsed,
        "sub_steps_per_s": jobs * 12 / elapsed,
    }


def dbos_case(url: str, jobs: int) -> dict[str, Any]:
    from bench.dbos_shape import run_dbos

    defaults = Settings(_env_file=None)
    return run_dbos(url, jobs, defaults.max_concurrent_jobs, defaults.max_concurrent_calls)


def run_case(case: str, jobs: int, loop: str = LOOPS[0]) -> dict[str, Any]:
    run = uvloop.run if loop == "uvloop" else asyncio.run
    if case.startswith("sqlite"):
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{folder}/bench.db"
            return run(engine_case(url, case.split("-")[1], jobs)) | {"loop": loop}
    with scratch_postgres("regflow_bench") as url:
        if case.startswith("postgres"):
            transport = case.split("-")[1]
            figures = run(engine_case(url, transport, jobs, case.endswith("-traced")))
            return figures | {"loop": loop}
        return raw_case(url, jobs) if case == "raw" else dbos_case(url, jobs)


def run_in_fresh_process(
    case: str, jobs: int, loop: str = LOOPS[0], tree: Path | None = None
) -> dict[str, Any]:
    """One case in a process of its own, of the code in `tree` (a checkout; this one when
    None): its figures, or RuntimeError with its stderr."""
    command = [sys.executable, "-m", "bench.engine", "--case", case, "--jobs", str(jobs)]
    command += ["--loop", loop]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=tree)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{case} failed:\n{done.stderr[-2000:]}")
    figures: dict[str, Any] = json.loads(lines[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--case", choices=CASES, help="run one case (in this process)")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument(
        "--loop", choices=LOOPS, default=LOOPS[0], help="the event loop (regflow's: uvloop)"
    )
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.jobs, args.loop)))
        return
    results: dict[str, Any] = {}
    for case in args.cases.split(","):
        command = [sys.executable, "-m", "bench.engine", "--case", case, "--jobs", str(args.jobs)]
        command += ["--loop", args.loop]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        lines = done.stdout.strip().splitlines()
        results[case] = (
            json.loads(lines[-1]) if done.returncode == 0 else {"error": done.stderr[-800:]}
        )
        print(case, json.dumps(results[case]), flush=True)
    report(results, args.jobs)


def report(results: dict[str, Any], jobs: int) -> None:
    dbos = results.get("dbos", {}).get("jobs_per_s")
    raw = results.get("raw", {}).get("jobs_per_s")
    for case, figures in results.items():
        if "jobs_per_s" in figures and case.startswith(("sqlite", "postgres")):
            figures["x_dbos"] = figures["jobs_per_s"] / dbos if dbos else None
            figures["fraction_of_raw_floor"] = figures["jobs_per_s"] / raw if raw else None
    traced = results.get("postgres-inprocess-traced", {}).get("jobs_per_s")
    untraced = results.get("postgres-inprocess", {}).get("jobs_per_s")
    if traced and untraced:
        results["tracing_cost"] = {"traced_over_untraced": traced / untraced}
        print("tracing on / off:", round(traced / untraced, 3), flush=True)
    for case in ("postgres-inprocess", "postgres-inprocess-traced"):
        if results.get(case, {}).get("fraction_of_raw_floor") is not None:
            print(case, "/ raw floor:", round(results[case]["fraction_of_raw_floor"], 3))
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    save(f"engine-{stamp}.json", {"jobs": jobs, "cpus": os.cpu_count(), "results": results})


if __name__ == "__main__":
    main()
