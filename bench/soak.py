"""Soak: ten batches of 1,000 jobs through one `regflow serve` process, and what console tabs
cost it.

One server (role `all`, PostgreSQL, the embedded simulator asked for explicitly). Prints and
saves under bench/results/: RSS after each batch, its growth from batch 1 to 2 and from 2 to the
last, the slope over the last half and a verdict (flat when growth from batch 2 to the last is
under 5% of RSS after batch 1); then, while a batch of 1,000 runs, the server's CPU and the p99
of a probe's other requests with 0, 10 and 100 simulated tabs, polling as the console did before
(full `GET /{batchId}` every 1.5 s) and streaming as it does now (one SSE stream per tab, a
100-row page read at most once a second when counters change).

`--trace 1,5` runs the server under tracemalloc (`bench.traced_server`), snapshots it after
batches 1 and 5, and prints and saves the allocation sites that grew in between: what the
Python heap holds on to, as opposed to what the allocator keeps of RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench.api import free_port, wait_ready
from bench.kit import save
from bench.scratch import scratch_postgres

KEY = f"soak-{uuid.uuid4().hex}"
HEADERS = {"Authorization": f"Bearer {KEY}"}
BASE = "/api/registration-batches"
SETTLED = ("completed", "partially_completed", "failed")
TICKS = os.sysconf("SC_CLK_TCK")
FLAT_SHARE = 0.05
FLAT_CRITERION = "flat: RSS grows from batch 2 to the last by under 5% of RSS after batch 1"


def snapshot(pid: int, folder: Path) -> None:
    """Have a server run by `bench.traced_server` write its tracemalloc snapshot; wait for it."""
    number = len(list(folder.glob("*.snapshot")))
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + 300
    while not (folder / f"{number:02d}.snapshot").exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the server wrote no tracemalloc snapshot in 300 s")
        time.sleep(0.5)


def growth(folder: Path, top: int = 40) -> list[dict[str, Any]]:
    """The allocation sites that grew most between the first and the last snapshot."""
    paths = sorted(folder.glob("*.snapshot"))
    if len(paths) < 2:
        return []
    ignored = (tracemalloc.Filter(False, tracemalloc.__file__),)
    first, last = (
        tracemalloc.Snapshot.load(str(p)).filter_traces(ignored) for p in (paths[0], paths[-1])
    )
    diffs = last.compare_to(first, "traceback")
    sites = []
    for diff in diffs[:top]:
        frames = [
            f"{f.filename.rsplit('site-packages/', 1)[-1]}:{f.lineno}" for f in diff.traceback
        ]
        sites.append(
            {"kb": round(diff.size_diff / 1024, 1), "blocks": diff.count_diff, "at": frames[::-1]}
        )
    total = sum(d.size_diff for d in diffs)
    sites.insert(
        0,
        {"kb": round(total / 1024, 1), "blocks": sum(d.count_diff for d in diffs), "at": ["(all)"]},
    )
    return sites


def memory_verdict(rss: list[float]) -> dict[str, Any]:
    """Growth of RSS (after batches 1..n) from 1 to 2 and from 2 to the last, the slope per batch
    over the last half (least squares), and whether that is flat by `FLAT_CRITERION`."""
    second = rss[1] if len(rss) > 1 else rss[0]
    half = rss[len(rss) // 2 :]
    slope = statistics.linear_regression(range(len(half)), half).slope if len(half) > 1 else 0.0
    return {
        "rss_mb_after_batch": rss,
        "growth_1_to_2_mb": round(second - rss[0], 1),
        "growth_2_to_last_mb": round(rss[-1] - second, 1),
        "slope_last_half_mb_per_batch": round(slope, 2),
        "criterion": FLAT_CRITERION,
        "verdict": "flat" if rss[-1] - second < FLAT_SHARE * rss[0] else "growing",
    }


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def first_job(session: aiohttp.ClientSession, url: str, batch_id: str) -> str:
    """A job of the new batch, once the views show it (they may lag its creation)."""
    deadline = time.monotonic() + 120
    while True:
        async with session.get(f"{url}{BASE}/{batch_id}/jobs?limit=1", headers=HEADERS) as r:
            jobs = (await r.json()).get("jobs") or []
        if jobs:
            return str(jobs[0]["id"])
        if time.monotonic() > deadline:
            raise RuntimeError(f"batch {batch_id} shows no job after 120 s")
        await asyncio.sleep(0.2)


async def new_batch(session: aiohttp.ClientSession, url: str, size: int) -> tuple[str, str]:
    restaurants = [{"name": f"Soak {i}", "execution_config": {}} for i in range(size)]
    body = {"name": f"soak {uuid.uuid4().hex[:6]}", "restaurants": restaurants}
    async with session.post(f"{url}{BASE}?brief=1", json=body, headers=HEADERS) as r:
        batch_id = (await r.json())["batch"]["id"]
    job_id = await first_job(session, url, batch_id)
    async with session.post(f"{url}{BASE}/{batch_id}/step-6/start", headers=HEADERS) as r:
        assert r.status == 202, await r.text()
    return batch_id, job_id


async def settled(session: aiohttp.ClientSession, url: str, batch_id: str) -> str:
    while True:
        async with session.get(f"{url}{BASE}/{batch_id}?brief=1", headers=HEADERS) as r:
            status = str((await r.json())["batch"]["status"])
        if status in SETTLED:
            return status
        await asyncio.sleep(1.0)


async def polling_tab(
    session: aiohttp.ClientSession, url: str, batch_id: str, until: float
) -> None:
    while time.monotonic() < until:
        async with session.get(f"{url}{BASE}/{batch_id}", headers=HEADERS) as r:
            await r.read()
        await asyncio.sleep(1.5)


async def streaming_tab(
    session: aiohttp.ClientSession, url: str, batch_id: str, until: float
) -> None:
    async with session.post(f"{url}{BASE}/{batch_id}/stream-token", headers=HEADERS) as r:
        ticket = (await r.json())["url"]
    last_page = 0.0
    async with session.get(f"{url}{ticket}", timeout=aiohttp.ClientTimeout(total=None)) as stream:
        while time.monotonic() < until:
            try:
                line = await asyncio.wait_for(stream.content.readline(), until - time.monotonic())
            except TimeoutError:
                return
            if line.startswith(b"data:") and time.monotonic() - last_page >= 1.0:
                last_page = time.monotonic()
                async with session.get(
                    f"{url}{BASE}/{batch_id}/jobs?limit=100", headers=HEADERS
                ) as r:
                    await r.read()


async def probe(session: aiohttp.ClientSession, url: str, job_id: str, until: float) -> list[float]:
    latencies = []
    while time.monotonic() < until:
        started = time.perf_counter()
        async with session.get(f"{url}{BASE}/jobs/{job_id}", headers=HEADERS) as r:
            await r.read()
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(0.2)
    return latencies


async def tabs_case(
    url: str, pid: int, mode: str, tabs: int, seconds: float, size: int
) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        batch_id, job_id = await new_batch(session, url, size)
        until = time.monotonic() + seconds
        tab = polling_tab if mode == "polling" else streaming_tab
        cpu, wall = cpu_seconds(pid), time.monotonic()
        results = await asyncio.gather(
            probe(session, url, job_id, until),
            *(tab(session, url, batch_id, until) for _ in range(tabs)),
        )
        cpu, wall = cpu_seconds(pid) - cpu, time.monotonic() - wall
        await settled(session, url, batch_id)
    latencies = results[0]
    return {
        "mode": mode,
        "tabs": tabs,
        "server_cpu_cores": round(cpu / wall, 3),
        "probe_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "probe_p99_ms": round(statistics.quantiles(latencies, n=100)[98] * 1000, 1),
        "probe_requests": len(latencies),
        "rss_mb": rss_mb(pid),
    }


async def soak(
    url: str,
    pid: int,
    batches: int,
    size: int,
    seconds: float,
    with_tabs: bool = True,
    trace: tuple[Path, set[int]] | None = None,
) -> dict[str, Any]:
    async with aiohttp.ClientSession() as session:
        await wait_ready(session, url, time.monotonic() + 120)
        memory = [{"after_batch": 0, "rss_mb": rss_mb(pid)}]
        for number in range(1, batches + 1):
            began = time.monotonic()
            batch_id, _ = await new_batch(session, url, size)
            status = await settled(session, url, batch_id)
            row = {
                "after_batch": number,
                "rss_mb": rss_mb(pid),
                "threads": len(os.listdir(f"/proc/{pid}/task")),
                "seconds": round(time.monotonic() - began, 1),
                "status": status,
            }
            memory.append(row)
            print(row, flush=True)
            if trace is not None and number in trace[1]:
                await asyncio.to_thread(snapshot, pid, trace[0])
    cases: list[dict[str, Any]] = []
    for mode, tabs in (
        ()
        if not with_tabs
        else (
            ("idle", 0),
            ("polling", 10),
            ("polling", 100),
            ("streaming", 10),
            ("streaming", 100),
        )
    ):
        case = await tabs_case(url, pid, mode, tabs, seconds, size)
        cases.append(case)
        print(case, flush=True)
    return {"memory": memory, "tabs": cases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0, help="each tabs case's window")
    parser.add_argument("--no-tabs", action="store_true", help="measure memory only")
    parser.add_argument(
        "--trace",
        default="",
        help="batches after which to snapshot the server's tracemalloc, e.g. 1,5 (prints what "
        "grew between the first and the last)",
    )
    args = parser.parse_args()
    port = free_port()
    traced = {int(n) for n in args.trace.split(",") if n}
    with (
        scratch_postgres("regflow_soak") as db_url,
        tempfile.TemporaryDirectory() as workdir,
        tempfile.TemporaryDirectory() as trace_dir,
    ):
        env = os.environ | {
            "REGFLOW_DATABASE_URL": db_url,
            "REGFLOW_PORT": str(port),
            "REGFLOW_API_KEYS": f"soak:{KEY}",
            "REGFLOW_SECRET_KEY": "soak",
            "REGFLOW_REGISTRATION_API_URL": "simulator",
        }
        command = ["-m", "api", "serve"]
        if traced:
            env |= {"REGFLOW_TRACE_DIR": trace_dir, "PYTHONPATH": str(Path(__file__).parents[1])}
            command = ["-m", "bench.traced_server", "serve"]
        server = subprocess.Popen(
            [sys.executable, *command],
            env=env,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            trace = (Path(trace_dir), traced) if traced else None
            figures = asyncio.run(
                soak(
                    url, server.pid, args.batches, args.size, args.seconds, not args.no_tabs, trace
                )
            )
        finally:
            server.terminate()
            server.wait(timeout=30)
        if traced:
            figures["grew"] = growth(Path(trace_dir))
            for site in figures["grew"]:
                print(site["kb"], "kB", site["blocks"], "blocks", " <- ".join(site["at"][:6]))
    figures["args"] = vars(args)
    # The server runs the code its interpreter's environment installed: <worktree>/.venv.
    served = Path(sys.executable).parents[2]
    head = subprocess.run(
        ["git", "-C", str(served), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    figures["commit"] = head.stdout.strip()
    figures["growth_per_batch_mb"] = [
        round(b["rss_mb"] - a["rss_mb"], 1)
        for a, b in zip(figures["memory"][1:], figures["memory"][2:], strict=False)
    ]
    figures["memory_verdict"] = memory_verdict([row["rss_mb"] for row in figures["memory"][1:]])
    for name, value in figures["memory_verdict"].items():
        print(f"{name}: {value}")
    save(f"soak-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}.json", figures)


if __name__ == "__main__":
    main()
