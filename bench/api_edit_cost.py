"""Instructions one edit through the HTTP API costs the server, counted by callgrind.

`bench.api` measures latency and the server's CPU per request, which this machine's neighbours
move by a tenth or more between runs of the same code; `bench.edit_cost` counts instructions
but in process, without HTTP. This counts what `regflow serve --role api` executes for one
`PATCH .../sub-steps/{key}` answered over loopback (the request's parsing and checks, the
command, the read-your-writes wait, the answer): the server runs under callgrind twice on a
fresh PostgreSQL database, once answering EDITS edits and once none (the same start-up, batch
and warm-up edits both times), and the difference per edit is printed. The client runs outside
callgrind, one edit at a time.

Run from the repository root: `python -m bench.api_edit_cost [--base CHECKOUT]` (about four
minutes a tree; `--base` counts an earlier checkout's server the same way, in the same run).
Saves bench/results/api-edit-cost-<time>.json. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bench.api import BASE, HEADERS, KEY, free_port, setup_jobs, wait_ready
from bench.callgrind import command_under_callgrind, counted
from bench.scratch import scratch_postgres

RESULTS = Path(__file__).parent / "results"
EDITS = 200
WARM = 40


async def edit(session: aiohttp.ClientSession, url: str, job: str, i: int) -> None:
    body = {"status": ("failed", "skipped")[i % 2], "reason": "bench"}
    path = f"{url}{BASE}/jobs/{job}/steps/6/sub-steps/cloudwaitressAccount"
    async with session.patch(path, json=body, headers=HEADERS) as response:
        await response.read()
        if response.status != 200:
            raise RuntimeError(f"edit {i} answered {response.status}")


async def drive(url: str, edits: int) -> None:
    """A batch of one job, WARM edits, then `edits` more, one at a time."""
    async with aiohttp.ClientSession() as session:
        await wait_ready(session, url, time.monotonic() + 600)
        job = (await setup_jobs(session, url, 1))[0]
        for i in range(WARM + edits):
            await edit(session, url, job, i)


def server_instructions(tree: Path | None, edits: int) -> int:
    """Instructions the server executed over its whole life, answering `edits` edits."""
    with scratch_postgres("regflow_bench_edit_cost") as db, tempfile.TemporaryDirectory() as tmp:
        port, out = free_port(), Path(tmp) / "callgrind.out"
        env = os.environ | {
            "REGFLOW_DATABASE_URL": db,
            "REGFLOW_PORT": str(port),
            "REGFLOW_API_KEYS": f"bench:{KEY}",
            "REGFLOW_SECRET_KEY": "bench",
            "REGFLOW_ROLE": "api",
            "PYTHONHASHSEED": "0",
        }
        if tree is not None:
            env["PYTHONPATH"] = str(tree)
        command = command_under_callgrind(out, "api", "serve")
        server = subprocess.Popen(
            command, env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        try:
            asyncio.run(drive(f"http://127.0.0.1:{port}", edits))
        finally:
            server.send_signal(signal.SIGTERM)
            _, err = server.communicate(timeout=600)
        return counted(err)


def per_edit(tree: Path | None) -> dict[str, Any]:
    many, none = server_instructions(tree, EDITS), server_instructions(tree, 0)
    return {
        "tree": str(tree or "."),
        "instructions": {"edits": many, "none": none},
        "per_edit": (many - none) / EDITS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", type=Path, help="an earlier checkout, counted beside this one")
    args = parser.parse_args()
    runs = [per_edit(None)]
    if args.base is not None:
        runs.append(per_edit(args.base.resolve()))
    for run in runs:
        print(f"{run['tree']}: {run['per_edit'] / 1e6:.2f} M instructions per edit", flush=True)
    if len(runs) == 2:
        print(f"this tree / base: {runs[0]['per_edit'] / runs[1]['per_edit']:.3f}", flush=True)
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    report = {"bench": "api-edit-cost", "at": stamp, "edits": EDITS, "warm": WARM, "runs": runs}
    (RESULTS / f"api-edit-cost-{stamp}.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
