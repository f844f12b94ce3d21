"""Load on the HTTP API: GET job progress and PATCH sub-step at 1, 10 and 50 clients.

Runs `regflow serve --role api` on a fresh PostgreSQL database over loopback, prints
req/s and p50/p99 per case, and the ratios to floors measured in the same run: a bare aiohttp
server answering the same bytes as GET /jobs/{id} (at 50 clients) and one raw psycopg
transaction that reads a row and inserts one; and the server's CPU per request (from /proc), a
figure a busy machine blurs less than latency. Saves them as JSON under bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import psycopg
import uvloop

from bench.api_floors import psycopg_floor
from bench.scratch import scratch_postgres

TICKS = os.sysconf("SC_CLK_TCK")

KEY = f"bench-{uuid.uuid4().hex}"
HEADERS = {"Authorization": f"Bearer {KEY}"}
BASE = "/api/registration-batches"
RESULTS = Path(__file__).parent / "results"
FLIPS: dict[str, int] = {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(db_url: str, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "REGFLOW_DATABASE_URL": db_url,
        "REGFLOW_PORT": str(port),
        "REGFLOW_API_KEYS": f"bench:{KEY}",
        "REGFLOW_SECRET_KEY": "bench",
        "REGFLOW_ROLE": "api",
    }
    command = [sys.executable, "-m", "api", "serve"]
    return subprocess.Popen(
        command, env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def wait_ready(session: aiohttp.ClientSession, url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            async with session.get(f"{url}/health/ready") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the server did not become ready")


async def setup_jobs(session: aiohttp.ClientSession, url: str, count: int) -> list[str]:
    restaurants = [{"name": f"R{i}", "execution_config": {}} for i in range(count)]
    body = {"name": "bench", "restaurants": restaurants}
    async with session.post(f"{url}{BASE}", json=body, headers=HEADERS) as response:
        batch = (await response.json())["batch"]
    return [j["id"] for j in batch["jobs"]]


async def client_loop(
    session: aiohttp.ClientSession,
    url: str,
    kind: str,
    job: str,
    until: float,
    out: list[float],
    errors: list[int],
) -> None:
    while time.monotonic() < until:
        started = time.perf_counter()
        if kind == "get":
            request = session.get(f"{url}{BASE}/jobs/{job}", headers=HEADERS)
        else:
            FLIPS[job] = 1 - FLIPS.get(job, 0)
            body = {"status": ("failed", "skipped")[FLIPS[job]], "reason": "bench"}
            path = f"{url}{BASE}/jobs/{job}/steps/6/sub-steps/cloudwaitressAccount"
            request = session.patch(path, json=body, headers=HEADERS)
        async with request as response:
            await response.read()
            if response.status != 200:
                errors.append(response.status)
        out.append(time.perf_counter() - started)


def cpu_seconds(pid: int | None) -> float:
    """CPU time (user + system) a process has used so far; 0 without a process."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


async def run_case(
    url: str, kind: str, clients: int, jobs: list[str], seconds: float, pid: int | None = None
) -> dict[str, Any]:
    """One case at `clients` clients; with the server's `pid`, its CPU per request too."""
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        warm: list[float] = []
        await asyncio.gather(
            *(
                client_loop(session, url, kind, jobs[i], time.monotonic() + 1, warm, [])
                for i in range(clients)
            )
        )
        latencies: list[float] = []
        errors: list[int] = []
        cpu = cpu_seconds(pid)
        began = time.monotonic()
        await asyncio.gather(
            *(
                client_loop(session, url, kind, jobs[i], began + seconds, latencies, errors)
                for i in range(clients)
            )
        )
        elapsed = time.monotonic() - began
        cpu = cpu_seconds(pid) - cpu
    cuts = statistics.quantiles(latencies, n=100)
    result = {
        "case": f"{kind} x{clients}",
        "requests": len(latencies),
        "errors": len(errors),
        "req_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(cuts[49] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
    }
    if pid is not None:
        result["server_cpu_ms_per_request"] = round(cpu * 1000 / max(len(latencies), 1), 3)
    return result


def start_bare_server(port: int, body: bytes, content_type: str, workdir: Path) -> Any:
    body_file = workdir / "job.body"
    body_file.write_bytes(body)
    command = [sys.executable, "-m", "bench.api_floors", str(port), str(body_file), content_type]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def job_answer(session: aiohttp.ClientSession, url: str, job: str) -> tuple[bytes, str]:
    async with session.get(f"{url}{BASE}/jobs/{job}", headers=HEADERS) as response:
        return await response.read(), response.content_type


class WaitSampler:
    """Samples what the benchmark database's sessions wait on, while a case runs."""

    def __init__(self, db_url: str, interval: float = 0.005) -> None:
        self.db_url = db_url
        self.interval = interval
        self.counts: collections.Counter[str] = collections.Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> WaitSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        query = (
            "SELECT state, wait_event_type, wait_event, left(query, 40) AS q"
            " FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            while not self._stop.wait(self.interval):
                self.samples += 1
                for state, kind, event, text in conn.execute(query).fetchall():
                    if state == "idle":
                        continue
                    what = f"{kind}:{event}" if kind else "on CPU"
                    self.counts[f"{state} | {what} | {' '.join(str(text).split())}"] += 1

    def report(self, top: int = 12) -> dict[str, float]:
        """Busy sessions per sample, by state, wait and statement."""
        return {k: round(n / max(self.samples, 1), 2) for k, n in self.counts.most_common(top)}


async def bare_floor(
    session: aiohttp.ClientSession,
    url: str,
    jobs: list[str],
    seconds: float,
    clients: int,
    workdir: Path,
) -> dict[str, Any]:
    """A bare aiohttp server answering the bytes of GET /jobs/{id}, at `clients` clients."""
    body, content_type = await job_answer(session, url, jobs[0])
    bare_port = free_port()
    bare = start_bare_server(bare_port, body, content_type, workdir)
    bare_url = f"http://127.0.0.1:{bare_port}"
    try:
        await wait_ready(session, bare_url, time.monotonic() + 30)
        floor = await run_case(bare_url, "get", clients, jobs, seconds)
    finally:
        bare.terminate()
        bare.wait(30)
    floor["case"] = f"floor: bare aiohttp x{clients}"
    print(json.dumps(floor), flush=True)
    return floor


async def measured_case(
    url: str,
    db_url: str,
    kind: str,
    clients: int,
    jobs: list[str],
    seconds: float,
    waits: bool,
    pid: int | None = None,
) -> dict[str, Any]:
    """One case, with what the database's sessions waited on if `waits`."""
    if not waits:
        return await run_case(url, kind, clients, jobs, seconds, pid)
    with WaitSampler(db_url) as sampler:
        result = await run_case(url, kind, clients, jobs, seconds, pid)
    return result | {"db_sessions": sampler.report()}


async def bench(
    url: str,
    db_url: str,
    seconds: float,
    levels: list[int],
    workdir: Path,
    kinds: tuple[str, ...] = ("get", "patch"),
    rounds: int = 1,
    waits: bool = False,
    pid: int | None = None,
) -> list[dict[str, Any]]:
    """The cases, each against its floor; `pid`: the server's, to count its CPU per request."""
    async with aiohttp.ClientSession() as session:
        await wait_ready(session, url, time.monotonic() + 60)
        jobs = await setup_jobs(session, url, max(levels))
        results = []
        if "get" in kinds:
            results.append(await bare_floor(session, url, jobs, seconds, max(levels), workdir))
    for kind in kinds:
        if kind == "patch":
            raw = await asyncio.to_thread(psycopg_floor, db_url, seconds)
            print(json.dumps(raw), flush=True)
            results.append(raw)
        for round_ in range(rounds):
            for clients in levels:
                result = await measured_case(url, db_url, kind, clients, jobs, seconds, waits, pid)
                if rounds > 1:
                    result["round"] = round_
                print(json.dumps(result), flush=True)
                results.append(result)
    return results


def ratios(results: list[dict[str, Any]], top: int) -> dict[str, float]:
    """The issue's figures, each against its floor from the same run (medians over rounds)."""
    rounds: dict[int, dict[str, dict[str, Any]]] = {}
    floors = {r["case"]: r for r in results if "round" not in r}
    for r in results:
        rounds.setdefault(r.get("round", 0), dict(floors))[r["case"]] = r
    per_round: dict[str, list[float]] = {}
    for by_case in rounds.values():
        for name, value in _figures(by_case, top).items():
            per_round.setdefault(name, []).append(value)
    return {k: round(statistics.median(v), 2) for k, v in per_round.items()}


def _figures(by_case: dict[str, dict[str, Any]], top: int) -> dict[str, float]:
    """The ratios one round's cases give."""
    figures = {}
    bare, get = by_case.get(f"floor: bare aiohttp x{top}"), by_case.get(f"get x{top}")
    if bare is not None and get is not None:
        figures[f"get_p99_x{top}_over_bare_p99"] = get["p99_ms"] / bare["p99_ms"]
    raw, patch1 = by_case.get("psycopg read+insert x1"), by_case.get("patch x1")
    patchn = by_case.get(f"patch x{top}")
    if patch1 is not None and raw is not None:
        figures["patch_p50_x1_over_psycopg_p50"] = patch1["p50_ms"] / raw["p50_ms"]
    if patch1 is not None and patchn is not None and top != 1:
        figures[f"patch_p99_x{top}_over_patch_p99_x1"] = patchn["p99_ms"] / patch1["p99_ms"]
        # The least that ratio can be at this throughput: with `top` clients each sending its
        # next request on the last answer, the mean latency is top / throughput (Little's
        # law), and a p99 falls below a mean only when the slowest hundredth of the answers
        # are far slower than the rest.
        least_ms = 1000 * top / patchn["req_per_s"]
        figures[f"patch_p99_x{top}_over_x1_least_at_this_throughput"] = least_ms / patch1["p99_ms"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per case")
    parser.add_argument("--clients", default="1,10,50")
    parser.add_argument("--kinds", default="get,patch", help="which cases: get, patch or both")
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat the client levels, alternating them"
    )
    parser.add_argument(
        "--waits", action="store_true", help="sample what the database sessions wait on"
    )
    args = parser.parse_args()
    with scratch_postgres("regflow_bench_api") as url, tempfile.TemporaryDirectory() as workdir:
        port = free_port()
        server = start_server(url, port, Path(workdir))
        print(f"server pid {server.pid}", file=sys.stderr, flush=True)
        try:
            levels = [int(c) for c in args.clients.split(",")]
            kinds = tuple(args.kinds.split(","))
            results = uvloop.run(
                bench(
                    f"http://127.0.0.1:{port}",
                    url,
                    args.seconds,
                    levels,
                    Path(workdir),
                    kinds,
                    args.rounds,
                    args.waits,
                    server.pid,
                )
            )
        finally:
            server.terminate()
            server.wait(30)
    figures = ratios(results, max(levels))
    print(json.dumps({"ratios": figures}), flush=True)
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    report = {
        "bench": "api",
        "at": stamp,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "store": "postgresql",
        "seconds_per_case": args.seconds,
        "results": results,
        "ratios": figures,
    }
    path = RESULTS / f"api-{stamp}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
