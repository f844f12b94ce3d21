"""The simulator keeps a bounded window of calls and answers, whatever it has served."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from domain.plan import PLAN
from infrastructure.executors.simulator.app import SIMULATOR
from infrastructure.executors.simulator.faults import SimulatorConfig
from infrastructure.executors.simulator.serving import Simulator
from tests.api.test_simulator import ACCOUNT, MakeClient, key_for, post, simulator


async def test_only_the_latest_calls_are_kept(aiohttp_client: MakeClient) -> None:
    client = await simulator(aiohttp_client, keep_calls=3, keep_answers=2)
    keys = [key_for() for _ in range(6)]
    for key in keys:
        assert (await post(client, ACCOUNT, key)).status == 200
    state = client.app[SIMULATOR]
    assert [c.key for c in state.calls] == keys[-3:]
    assert [k for k in keys if k in state.answers] == keys[-2:]
    body = await (await client.get("/_simulator/calls")).json()
    assert len(body["calls"]) == 3


async def test_a_kept_answer_is_still_replayed(aiohttp_client: MakeClient) -> None:
    client = await simulator(aiohttp_client, keep_answers=2)
    key = key_for()
    first = await (await post(client, ACCOUNT, key)).json()
    again = await (await post(client, ACCOUNT, key)).json()
    assert first == again


def call(key: str) -> Any:
    """A bodiless call as the simulator reads it, without an HTTP round trip."""
    return SimpleNamespace(
        headers={"Idempotency-Key": key}, path=ACCOUNT, match_info={}, can_read_body=False
    )


async def test_a_long_running_simulator_keeps_its_default_windows() -> None:
    """More calls than either window keeps (seven batches of 1,000 restaurants, 12 calls each)
    through a default-configured simulator, as one embedded in a long-lived server serves them,
    leave it holding its default windows (it kept 200,000 answers before, about 550 bytes each)."""
    config = SimulatorConfig()
    state = Simulator(config)
    step = PLAN.sub_step("cloudwaitressAccount")
    for _ in range(max(config.keep_answers, config.keep_calls) + 12_000):
        assert (await state.serve(call(key_for()), step)).status == 200
    assert len(state.answers) == config.keep_answers <= 72_000
    assert len(state.calls) == config.keep_calls <= 20_000
    latest = state.calls[-1].key
    assert latest in state.answers
    await state.serve(call(latest), step)
    assert state.calls[-1].replay and len(state.answers) == config.keep_answers


@pytest.mark.parametrize("field", ["keep_calls", "keep_answers"])
@pytest.mark.parametrize("count", [1_000_001, 50_000_000, 100_000_000_000])
def test_a_window_past_a_million_is_refused_before_anything_is_allocated(
    tmp_path: Path, field: str, count: int
) -> None:
    config = tmp_path / "simulator.json"
    config.write_text(json.dumps({field: count}), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "api", "simulator", "--port", "18199", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
    )
    assert done.returncode == 2, done
    assert (
        done.stderr.splitlines()[-1]
        == f"  - {field}: Input should be less than or equal to 1000000"
    )
    assert "Traceback" not in done.stderr


def test_a_window_of_a_million_is_taken() -> None:
    config = SimulatorConfig(keep_calls=1_000_000, keep_answers=1_000_000)
    assert (config.keep_calls, config.keep_answers) == (1_000_000, 1_000_000)
