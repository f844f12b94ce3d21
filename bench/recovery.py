"""Benchmark: 50 jobs of 0.2 s sub-steps, the worker killed with SIGKILL 1 s in, restarted."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.kit import save
from bench.scratch import scratch_postgres
from infrastructure.executors.simulator.app import SIMULATOR
from infrastructure.executors.simulator.calls import executions_per_key
from infrastructure.executors.simulator.faults import SimulatorConfig
from infrastructure.executors.simulator.main import start_embedded_simulator
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations

REGFLOW = str(Path(sys.executable).with_name("regflow"))
CONFIG = {
    "account": {"email": "a@example.com", "password": "pw"},
    "menu": {"menu_id": "m-1"},
    "payment": {"enabled": True},
    "onboarding_user": {"enabled": True},
}


async def worker(env: dict[str, str], cwd: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        REGFLOW,
        "work",
        "--until-idle",
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def until(condition: Any, timeout: float = 120) -> float:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError
        await asyncio.sleep(0.01)
    return time.monotonic()


async def run(url: str, jobs: int, latency: float, kill_after: float) -> dict[str, Any]:
    settings = Settings(_env_file=None, database_url=url, secret_key="bench", worker_id="bench")
    app = Registrations(settings)
    items = [{"name": f"R{i}", "execution_config": CONFIG} for i in range(jobs)]
    batch, created, _ = app.create_batch("org-bench", "user:bench", "recovery", items)
    app.start_step6("org-bench", batch.id, None, "user:bench")
    ids = [str(j.id) for j in created]
    runner, base = await start_embedded_simulator(SimulatorConfig(latency={"*": latency}))
    sim = runner.app[SIMULATOR]
    env = os.environ | {
        "REGFLOW_DATABASE_URL": url,
        "REGFLOW_SECRET_KEY": "bench",
        "REGFLOW_WORKER_ID": "recovery",
        "REGFLOW_REGISTRATION_API_URL": base,
        "REGFLOW_MAX_CONCURRENT_JOBS": str(jobs),
        "REGFLOW_MAX_CONCURRENT_CALLS": str(jobs * 5),
    }
    with tempfile.TemporaryDirectory() as cwd:
        first = await worker(env, cwd)
        await asyncio.sleep(kill_after)
        first.kill()
        await first.wait()
        calls_before = len(sim.calls)
        restarted = time.monotonic()
        second = await worker(env, cwd)

        async def resumed() -> bool:
            return len(sim.calls) > calls_before

        async def all_done() -> bool:
            statuses = await asyncio.to_thread(lambda: {str(app.job(j).status) for j in ids})
            return statuses == {"completed"}

        first_call = await until(resumed)
        done = await until(all_done)
        await second.wait()
    repeated = sum(n - 1 for n in executions_per_key(sim.calls).values() if n > 1)
    await runner.cleanup()
    app.close()
    return {
        "calls_before_kill": calls_before,
        "restart_to_first_resumed_call_s": first_call - restarted,
        "restart_to_all_done_s": done - restarted,
        "repeated_executions": repeated,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--kill-after", type=float, default=1.0)
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with scratch_postgres("regflow_recovery") as url:
        results["postgres"] = asyncio.run(run(url, args.jobs, args.latency, args.kill_after))
    print("postgres", json.dumps(results["postgres"]), flush=True)
    with tempfile.TemporaryDirectory() as folder:
        sqlite = f"sqlite:///{folder}/recovery.db"
        results["sqlite"] = asyncio.run(run(sqlite, args.jobs, args.latency, args.kill_after))
    print("sqlite", json.dumps(results["sqlite"]), flush=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    save(f"recovery-{stamp}.json", {"jobs": args.jobs, "latency": args.latency, "results": results})


if __name__ == "__main__":
    main()
