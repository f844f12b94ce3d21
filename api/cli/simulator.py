"""`regflow simulator`: the registration API simulator, standalone."""

from __future__ import annotations

import argparse

from api.cli.commands import Command, arg
from infrastructure.executors.simulator.main import run_simulator


def simulator(args: argparse.Namespace) -> int:
    run_simulator(args.host, args.port, args.config)
    return 0


COMMANDS = (
    Command(
        "simulator",
        "serve the simulated registration API",
        simulator,
        runs_until_stopped=True,
        arguments=(
            arg("--host", default="127.0.0.1"),
            arg("--port", type=int, default=8090),
            arg("--config", help="a JSON file of faults, latency and service_key"),
        ),
    ),
)
