"""Running the simulator: embedded on a loopback port, or standalone."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from aiohttp import web

from infrastructure.executors.simulator.app import create_simulator
from infrastructure.executors.simulator.faults import SimulatorConfig
from infrastructure.listening import listening_socket

SHUTDOWN_TIMEOUT = 5.0


async def start_embedded_simulator(
    config: SimulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> tuple[web.AppRunner, str]:
    """Serve the simulator on `host` (a free port by default); stop it with `runner.cleanup()`."""
    runner = web.AppRunner(
        create_simulator(config), handler_cancellation=True, shutdown_timeout=SHUTDOWN_TIMEOUT
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_host, bound_port = runner.addresses[0][:2]
    return runner, f"http://{bound_host}:{bound_port}"


def run_simulator(host: str, port: int, config: SimulatorConfig) -> None:
    """Serve the simulator, configured by `config`, until interrupted."""
    with listening_socket(host, port) as sock:
        url = f"http://{host}:{sock.getsockname()[1]}"
        web.run_app(
            create_simulator(config),
            sock=sock,
            handler_cancellation=True,
            shutdown_timeout=SHUTDOWN_TIMEOUT,
            print=lambda _: print(f"regflow simulator on {url}", flush=True),
        )


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m infrastructure.executors.simulator.main --port N [--config FILE]`."""
    parser = argparse.ArgumentParser(description="The simulated registration API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--config", help="a JSON SimulatorConfig (faults, latency, service_key)")
    arguments = parser.parse_args(argv)
    config = (
        SimulatorConfig.from_json_file(arguments.config) if arguments.config else SimulatorConfig()
    )
    run_simulator(arguments.host, arguments.port, config)


if __name__ == "__main__":
    main()
