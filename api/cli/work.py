"""`regflow work`: the engine alone, on the jobs in progress in the store."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

import uvloop

from api.cli.commands import Command, arg
from infrastructure.engine.wiring import running_engine
from infrastructure.logs import configure_logging
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations


def work_command(args: argparse.Namespace) -> int:
    """Run the engine on whatever is in progress; with --until-idle, stop when nothing is."""
    settings = Settings()
    settings.require_registration_api()
    configure_logging(settings)
    app = Registrations(settings)
    try:
        return uvloop.run(_work(app, settings, args.until_idle, args.timeout))
    finally:
        app.close()


async def _work(
    app: Registrations, settings: Settings, until_idle: bool, timeout: float | None
) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with running_engine(app, settings) as engine:
        say(f"regflow work: worker {engine.worker_id} on {settings.data_location}")
        waits: list[asyncio.Future[bool]] = [asyncio.ensure_future(stop.wait())]
        if until_idle:
            waits.append(asyncio.ensure_future(engine.run_until_idle(timeout or 1e9)))
        done, pending = await asyncio.wait(
            waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        idle = any(t is not waits[0] and t.result() for t in done)
        ran = sum(engine.outcomes.values())
    if until_idle and idle:
        say(
            f"regflow work: idle; {ran} job run(s) ended here"
            if ran
            else "regflow work: nothing to do, no job is in progress"
        )
    elif until_idle:
        say("regflow work: stopped before the store was idle")
    return 0 if idle or not until_idle else 1


def say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


COMMANDS = (
    Command(
        "work",
        "run the engine on jobs in progress in the store",
        work_command,
        runs_until_stopped=True,
        arguments=(
            arg("--until-idle", action="store_true", help="exit when no job is in progress"),
            arg("--timeout", type=float, default=None, help="give up after this many seconds"),
        ),
    ),
)
