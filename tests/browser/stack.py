"""`regflow serve` and a standalone registration API simulator, as subprocesses on free ports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.error import URLError
from urllib.request import Request, urlopen

from tests.kit import free_port

ORGANISATION = "org-console"
API_KEY = "console-test-key"
SERVE_COMMAND = [sys.executable, "-m", "api", "serve"]
SIMULATOR_COMMAND = [sys.executable, "-m", "infrastructure.executors.simulator.main"]
START_SECONDS = 30.0


@dataclass(frozen=True)
class Stack:
    """Where the console and the simulator listen, and the key to sign in with."""

    url: str
    simulator_url: str
    key: str = API_KEY

    def set_faults(
        self, faults: list[dict[str, Any]], latency: dict[str, float] | None = None
    ) -> None:
        """Replace the simulator's fault rules (and, given, its latencies) through its admin
        route."""
        settings: dict[str, Any] = {"faults": faults}
        if latency is not None:
            settings["latency"] = latency
        body = json.dumps(settings).encode()
        request = Request(f"{self.simulator_url}/_simulator/faults", data=body, method="PUT")
        request.add_header("Content-Type", "application/json")
        with urlopen(request, timeout=5) as answer:
            assert answer.status == 200


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Poll `url` until it answers 200; fail with the log if the process dies or time runs out."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text()[-3000:]
            raise RuntimeError(f"{url} exited with {process.returncode}:\n{tail}")
        try:
            with urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except (URLError, ConnectionError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up in {START_SECONDS} s:\n{log.read_text()[-3000:]}")


@contextmanager
def running(command: list[str], env: dict[str, str], log: Path, ready_url: str) -> Iterator[None]:
    """Run `command` from when `ready_url` answers until the block ends; output goes to `log`."""
    with log.open("wb") as sink:
        process = subprocess.Popen(command, env=env, cwd=log.parent, stdout=sink, stderr=sink)
        try:
            wait_until_up(ready_url, process, log)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGFLOW_")}
    env["PYTHONPATH"] = str(Path(__file__).parents[2])
    return env


@contextmanager
def serving_stack(workdir: Path, **settings: str) -> Iterator[Stack]:
    """The simulator, then `regflow serve` on a fresh SQLite file pointed at it (with any
    further settings, by environment name)."""
    sim_port, api_port = free_port(), free_port()
    simulator_url = f"http://127.0.0.1:{sim_port}"
    url = f"http://127.0.0.1:{api_port}"
    env = (
        _clean_env()
        | {
            "REGFLOW_DATABASE_URL": f"sqlite:///{workdir / 'regflow.db'}",
            "REGFLOW_API_KEYS": f"{ORGANISATION}:{API_KEY}",
            "REGFLOW_HOST": "127.0.0.1",
            "REGFLOW_PORT": str(api_port),
            "REGFLOW_REGISTRATION_API_URL": simulator_url,
            "REGFLOW_SECRET_KEY": "console-test-passphrase",
        }
        | settings
    )
    sim_command = [*SIMULATOR_COMMAND, "--port", str(sim_port)]
    with (
        running(sim_command, env, workdir / "simulator.log", f"{simulator_url}/_simulator/health"),
        running(SERVE_COMMAND, env, workdir / "serve.log", f"{url}/health/ready"),
    ):
        yield Stack(url, simulator_url)
