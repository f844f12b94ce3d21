"""Benchmark: flow control against a simulator with room for 8 calls at once and 50 ms latency.

Goodput (successful calls per second) and the share of 429s for the adaptive limit beside fixed
limits of 4, 8, 16 and 64, in one run; then Jain's fairness index across three organisations
with unequal batches, over the time all three have work waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.engine import CONFIG, simulator_process
from infrastructure.engine.wiring import running_engine
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations

CAPACITY = {"limit": 8, "retry_after": 0.1}
LATENCY = 0.05
FIXED = (4, 8, 16, 64)
RESULTS = Path(__file__).parent / "results"


async def start_simulator(workdir: Path) -> tuple[asyncio.subprocess.Process, str]:
    """The simulator in a process of its own, configured by a --config file."""
    config = workdir / "simulator.json"
    config.write_text(json.dumps({"capacity": CAPACITY, "latency": {"*": LATENCY}}))
    return await simulator_process(config, stdout=asyncio.subprocess.DEVNULL)


async def simulator_calls(base: str, clear: bool = False) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/_simulator/calls") as response:
            answer: dict[str, Any] = await response.json()
        if clear:
            await session.delete(f"{base}/_simulator/calls")
    return answer


async def run_case(
    base: str, workdir: Path, name: str, batches: dict[str, int], **fields: Any
) -> dict[str, Any]:
    settings = Settings(
        _env_file=None, database_url=f"sqlite:///{workdir / name}.db", secret_key="bench",
        worker_id=f"bench-{name}", registration_api_url=base, max_concurrent_jobs=128, **fields,
    )  # fmt: skip
    app = Registrations(settings)
    items = lambda n: [{"name": f"R{i}", "execution_config": CONFIG} for i in range(n)]  # noqa: E731
    for org, count in batches.items():
        batch, _, _ = app.create_batch(org, "user:bench", "bench", items(count))
        app.start_step6(org, batch.id, None, "user:bench")
    await simulator_calls(base, clear=True)
    try:
        async with running_engine(app, settings) as engine:
            assert await engine.run_until_idle(600), "the batch did not finish"
    finally:
        app.close()
    record = await simulator_calls(base, clear=True)
    return summarise(name, record, batches)


def summarise(name: str, record: dict[str, Any], batches: dict[str, int]) -> dict[str, Any]:
    calls = record["calls"]
    ok = [c for c in calls if c["status"] == 200]
    start = min(c["started"] for c in calls)
    seconds = max(c["finished"] for c in calls) - start
    throttled = sum(1 for c in calls if c["status"] == 429)
    return {
        "case": name,
        "calls": len(calls),
        "ok": len(ok),
        "seconds": round(seconds, 3),
        "goodput_per_s": round(len(ok) / seconds, 1),
        "share_429": round(throttled / len(calls), 4),
        "peak_in_flight": record["peak_in_flight"],
        "fairness": fairness(ok, batches, start) if len(batches) > 1 else None,
    }


def fairness(ok: list[dict[str, Any]], batches: dict[str, int], start: float) -> dict[str, Any]:
    """Jain's index of successful calls per organisation while every one had work left."""
    last = {org: max(c["finished"] for c in ok if c["organisation"] == org) for org in batches}
    window_end = min(last.values())
    done = Counter(c["organisation"] for c in ok if c["finished"] <= window_end)
    shares = [done[org] for org in batches]
    jain = sum(shares) ** 2 / (len(shares) * sum(s * s for s in shares))
    return {
        "window_s": round(window_end - start, 3),
        "calls": dict(zip(batches, shares, strict=True)),
        "jain": round(jain, 3),
    }


CASES: list[tuple[str, dict[str, Any]]] = [("adaptive", {})] + [
    (f"fixed-{n}", {"api_max_in_flight": n, "max_concurrent_calls": max(n, 32)}) for n in FIXED
]


async def main(jobs: int, rounds: int) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in CASES}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        process, base = await start_simulator(workdir)
        try:
            for turn in range(rounds):
                for name, fields in CASES:
                    case = await run_case(
                        base, workdir, f"{name}-{turn}", {"org-a": jobs}, **fields
                    )
                    runs[name].append(case)
                    print(json.dumps(case), flush=True)
            unequal = {"org-large": jobs, "org-medium": jobs // 3, "org-small": jobs // 8}
            fair = await run_case(base, workdir, "fairness-adaptive", unequal)
            print(json.dumps(fair), flush=True)
        finally:
            process.terminate()
            await process.wait()
    medians = {name: median_case(cases) for name, cases in runs.items()}
    best = max((c for n, c in medians.items() if n != "adaptive"), key=lambda c: c["goodput_per_s"])
    adaptive = medians["adaptive"]
    return {
        "simulator": {"capacity": CAPACITY, "latency_s": LATENCY},
        "jobs": jobs,
        "rounds": rounds,
        "medians": medians,
        "runs": runs,
        "fairness": fair,
        "adaptive_vs_best_fixed": round(adaptive["goodput_per_s"] / best["goodput_per_s"], 3),
        "best_fixed": best["case"],
        "at": datetime.now(UTC).isoformat(),
    }


def median_case(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """The median goodput and 429 share of one case's rounds (run alternately with the others)."""
    name = cases[0]["case"].rsplit("-", 1)[0]
    return {
        "case": name,
        "goodput_per_s": statistics.median(c["goodput_per_s"] for c in cases),
        "share_429": statistics.median(c["share_429"] for c in cases),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=60, help="jobs of 12 calls per case")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every case, alternated")
    arguments = parser.parse_args()
    figures = asyncio.run(main(arguments.jobs, arguments.rounds))
    for case in figures["medians"].values():
        print(json.dumps(case))
    print(json.dumps({k: figures[k] for k in ("adaptive_vs_best_fixed", "best_fixed")}))
    print("fairness (Jain):", figures["fairness"]["fairness"]["jain"])
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"flow-{stamp}.json").write_text(json.dumps(figures, indent=2) + "\n")
