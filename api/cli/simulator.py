"""`regflow simulator`: the registration API simulator, standalone."""

from __future__ import annotations

import argparse

from infrastructure.executors.simulator.main import run_simulator


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `simulator`."""
    simulator = commands.add_parser("simulator", help="serve the simulated registration API")
    simulator.add_argument("--host", default="127.0.0.1")
    simulator.add_argument("--port", type=int, default=8090)
    simulator.add_argument("--config", help="a JSON file of faults, latency and service_key")
    simulator.set_defaults(handler=lambda a: run_simulator(a.host, a.port, a.config) or 0)
