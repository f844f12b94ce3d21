"""Two live processes on one store: they never share a worker id, so no call is sent twice."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from infrastructure.executors.simulator.faults import FaultRule, SimulatorConfig
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import simulator
from tests.conftest import TEST_SECRET, unique_org
from tests.kit import free_port, restaurants

pytestmark = pytest.mark.slow
REGFLOW = str(Path(sys.executable).with_name("regflow"))
FAILING_MENU = SimulatorConfig(
    latency={"*": 0.03}, faults=[FaultRule(kind="bad_request", endpoint="menuImport")]
)


def process_env(settings: Settings, url: str, **extra: str) -> dict[str, str]:
    """A regflow process on the test's store and simulator; the worker id is left derived."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGFLOW_")}
    return env | {
        "REGFLOW_DATABASE_URL": settings.database_url,
        "REGFLOW_SECRET_KEY": TEST_SECRET,
        "REGFLOW_REGISTRATION_API_URL": url,
        "REGFLOW_LEASE_SECONDS": "6",
        **extra,
    }


async def spawn(env: dict[str, str], cwd: Path, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        REGFLOW,
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def wait_for_line(process: asyncio.subprocess.Process, text: str) -> list[str]:
    """Read the process's stderr until a line holds `text`; the lines read."""
    assert process.stderr is not None
    lines: list[str] = []
    while not any(text in line for line in lines):
        line = await asyncio.wait_for(process.stderr.readline(), 60)
        assert line, f"process ended before saying {text!r}: {''.join(lines)[-2000:]}"
        lines.append(line.decode())
    return lines


async def ready(port: int, server: asyncio.subprocess.Process) -> None:
    """Wait until `server`, on `port`, says it is ready (its views are running); fail at once,
    with what it said, if it ends first."""
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            if server.returncode is not None:
                _, err = await server.communicate()
                raise AssertionError(f"the server ended: {err.decode()[-2000:]}")
            try:
                async with session.get(f"http://127.0.0.1:{port}/health/ready") as answer:
                    if answer.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the server never became ready")


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)


async def test_a_server_and_a_batch_run_on_one_store_never_send_a_call_twice(
    app: Registrations, settings: Settings, tmp_path: Path
) -> None:
    org = unique_org()
    (tmp_path / "batch.json").write_text(json.dumps(restaurants(8)))
    async with simulator(FAILING_MENU) as (sim, url):
        env = process_env(settings, url)
        port = str(free_port())
        server = await spawn(env, tmp_path, "serve", "--role", "all", "--port", port)
        try:
            await wait_for_line(server, "engine ")
            run = await spawn(env, tmp_path, "batch", "run", "batch.json", "--org", org, "--json")
            out, err = await asyncio.wait_for(run.communicate(), 120)
            assert server.returncode is None, "the server must stay alive all along"
        finally:
            await stop(server)
    summary = json.loads(out)
    job_ids = set(summary["job_ids"])
    assert run.returncode == 1, err.decode()[-2000:]
    assert {str(app.job(j).status) for j in job_ids} == {"failed"}
    ours = [c for c in sim.calls if c.job in job_ids]
    sent = Counter((c.job, c.sub_step) for c in ours)
    assert sent and set(sent.values()) == {1}, [k for k, n in sent.items() if n > 1]
    names = Counter((j, type(e).__name__) for j in job_ids for e in app.events.get(app.job(j).id))
    assert not [k for k in names if k[1] == "SubStepInterrupted"]
    assert {names[(j, "Claimed")] for j in job_ids} == {1}


async def test_a_worker_id_set_explicitly_is_refused_while_its_holder_lives(
    app: Registrations, settings: Settings, tmp_path: Path
) -> None:
    async with simulator() as (_, url):
        env = process_env(settings, url, REGFLOW_WORKER_ID=f"{settings.worker_id}-shared")
        first = await spawn(env, tmp_path, "work")
        try:
            await wait_for_line(first, "worker ")
            second = await spawn(env, tmp_path, "work", "--until-idle")
            _, err = await asyncio.wait_for(second.communicate(), 60)
            assert second.returncode == 2, "a setting it cannot run with: exit 2"
            assert "is held by a live process" in err.decode()
            assert "Traceback" not in err.decode()
            org = unique_org()
            (tmp_path / "batch.json").write_text(json.dumps(restaurants(1)))
            run = await spawn(env, tmp_path, "batch", "run", "batch.json", "--org", org)
            _, err = await asyncio.wait_for(run.communicate(), 60)
            assert run.returncode == 2 and "is held by a live process" in err.decode()
            listed = await spawn(env, tmp_path, "batches", "--org", org, "--json")
            out, _ = await asyncio.wait_for(listed.communicate(), 60)
            assert json.loads(out) == [], "a refused batch run creates nothing"
        finally:
            await stop(first)
        again = await spawn(env, tmp_path, "work", "--until-idle", "--timeout", "60")
        _, err = await asyncio.wait_for(again.communicate(), 90)
        assert "is held by" not in err.decode(), "a stopped holder frees its id"


async def test_read_commands_answer_beside_a_server_that_runs_the_views(
    app: Registrations, settings: Settings, tmp_path: Path
) -> None:
    org = unique_org()
    batch, jobs, _ = app.create_batch(org, "user:u-1", "beside", restaurants(3))
    async with simulator() as (_, url):
        env = process_env(settings, url)
        port = free_port()
        server = await spawn(env, tmp_path, "serve", "--role", "all", "--port", str(port))
        try:
            await wait_for_line(server, "engine ")
            await ready(port, server)
            for command in (("batches", "--org", org), ("jobs", str(batch.id))):
                reader = await spawn(env, tmp_path, *command, "--json")
                out, err = await asyncio.wait_for(reader.communicate(), 120)
                assert reader.returncode == 0, err.decode()[-2000:]
                assert "Traceback" not in err.decode()
                assert str(jobs[0].id if command[0] == "jobs" else batch.id) in out.decode()
            assert server.returncode is None, "the server must stay alive all along"
        finally:
            await stop(server)
