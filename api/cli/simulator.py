"""`regflow simulator`: the registration API simulator, standalone."""

from __future__ import annotations

import argparse

from pydantic import ValidationError

from api.cli.commands import Command, arg
from api.cli.failures import CannotRun
from api.cli.values import port_number
from api.errors import field_errors
from infrastructure.executors.simulator.faults import SimulatorConfig
from infrastructure.executors.simulator.main import run_simulator


def simulator_config(path: str | None) -> SimulatorConfig:
    """The configuration the JSON file at `path` holds (None: the defaults); CannotRun naming
    each field it got wrong (`faults[0].kind: ...`)."""
    if path is None:
        return SimulatorConfig()
    try:
        return SimulatorConfig.from_json_file(path)
    except ValidationError as exc:
        message = f"{path} is not a simulator configuration"
        raise CannotRun(message, field_errors(exc, whole=path)) from None


def simulator(args: argparse.Namespace) -> int:
    run_simulator(args.host, args.port, simulator_config(args.config))
    return 0


COMMANDS = (
    Command(
        "simulator",
        "serve the simulated registration API",
        simulator,
        runs_until_stopped=True,
        arguments=(
            arg("--host", default="127.0.0.1"),
            arg("--port", type=port_number, default=8090),
            arg("--config", help="a JSON file of faults, latency and service_key"),
        ),
    ),
)
