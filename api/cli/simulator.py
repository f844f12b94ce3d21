"""`regflow simulator`: the registration API simulator, standalone."""

from __future__ import annotations

from api.cli.commands import Command, arg
from infrastructure.executors.simulator.main import run_simulator

COMMANDS = (
    Command(
        "simulator",
        "serve the simulated registration API",
        lambda a: run_simulator(a.host, a.port, a.config) or 0,
        arguments=(
            arg("--host", default="127.0.0.1"),
            arg("--port", type=int, default=8090),
            arg("--config", help="a JSON file of faults, latency and service_key"),
        ),
    ),
)
