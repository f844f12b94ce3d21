"""`regflow work`: the engine alone, on the jobs in progress in the store."""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Any

import uvloop

from api.cli.commands import Command, arg, json_flag
from api.cli.values import positive_seconds
from infrastructure.engine.wiring import running_engine
from infrastructure.logs import announce, configure_logging_first
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations


def work_command(args: argparse.Namespace) -> int:
    """Run the engine on whatever is in progress; with --until-idle, stop when nothing is."""
    configure_logging_first()  # so that a refusal, of a setting too, is said as the log says
    settings = Settings()
    settings.require_registration_api()
    app = Registrations(settings)
    try:
        summary = uvloop.run(_work(app, settings, args.until_idle, args.timeout))
    finally:
        app.close()
    if args.until_idle:
        say(ending(summary))
    if args.json:
        print(json.dumps(summary))
    return 0 if summary["idle"] or not args.until_idle else 1


async def _work(
    app: Registrations, settings: Settings, until_idle: bool, timeout: float | None
) -> dict[str, Any]:
    """What the engine did until it was stopped, found the store idle or gave up."""
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
        return {
            "worker_id": engine.worker_id,
            "store": settings.data_location,
            "until_idle": until_idle,
            "idle": idle,
            "stopped": "idle" if idle else "signal" if waits[0] in done else "timeout",
            "job_runs_ended": sum(engine.outcomes.values()),
            "runs_ended": {str(k): v for k, v in engine.outcomes.items()},
        }


def ending(summary: dict[str, Any]) -> str:
    """What `regflow work --until-idle` says last: whether the store was left idle, and how
    many job runs ended here."""
    ran = summary["job_runs_ended"]
    if not summary["idle"]:
        return "regflow work: stopped before the store was idle"
    if not ran:
        return "regflow work: nothing to do, no job is in progress"
    return f"regflow work: idle; {ran} job run(s) ended here"


def say(line: str) -> None:
    """A line for the operator on standard error, beside the log (one of its JSON lines when
    the log is)."""
    announce(line, sys.stderr)


COMMANDS = (
    Command(
        "work",
        "run the engine on jobs in progress in the store",
        work_command,
        runs_until_stopped=True,
        writes_log=True,
        description="Run the engine on the store's jobs in progress until stopped (SIGINT, "
        "SIGTERM); with --until-idle, until none is. Exit 0, or 1 when --until-idle stopped "
        "before the store was idle.",
        arguments=(
            arg("--until-idle", action="store_true", help="exit when no job is in progress"),
            arg(
                "--timeout",
                type=positive_seconds,
                default=None,
                help="give up after this many seconds",
            ),
            json_flag("end with a JSON summary of what this worker did"),
        ),
    ),
)
