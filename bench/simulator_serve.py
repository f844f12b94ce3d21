"""CPU of the simulator's serving path: a new key executed, a repeated key replayed, and the
listing of `/_simulator/calls`, per call, best of five rounds; prints JSON.

Runs against whichever code the interpreter imports, so one script times two checkouts:
`<checkout>/.venv/bin/python bench/simulator_serve.py`.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from domain.plan import SUB_STEPS
from infrastructure.executors.simulator.faults import SimulatorConfig
from infrastructure.executors.simulator.serving import Simulator

CALLS = 20_000
ROUNDS = 5


def request(key: str, path: str) -> Any:
    """A bodiless call as the simulator reads it, without an HTTP round trip."""
    headers = {"Idempotency-Key": key, "X-Organisation-ID": str(uuid.uuid4())}
    return SimpleNamespace(headers=headers, path=path, match_info={}, can_read_body=False)


async def serve_all(state: Simulator, keys: list[str]) -> None:
    for number, key in enumerate(keys):
        step = SUB_STEPS[number % len(SUB_STEPS)]
        await state.serve(request(key, step.endpoint), step)


def best_of(measure: Callable[[], float]) -> float:
    return min(measure() for _ in range(ROUNDS))


def timed(state: Simulator, keys: list[str]) -> float:
    started = time.process_time()
    asyncio.run(serve_all(state, keys))
    return (time.process_time() - started) / len(keys) * 1e6


def round_of(kind: str) -> float:
    state = Simulator(SimulatorConfig(keep_calls=CALLS, keep_answers=CALLS))
    keys = [f"{uuid.uuid4()}:{SUB_STEPS[n % 12].key}:1" for n in range(CALLS)]
    first = timed(state, keys)
    if kind == "execute":
        return first
    if kind == "replay":
        return timed(state, keys)
    started = time.process_time()
    listed = [call.as_dict() for call in state.calls]
    return (time.process_time() - started) / len(listed) * 1e6


def main() -> None:
    figures = {
        f"{kind}_us_per_call": round(best_of(lambda k=kind: round_of(k)), 2)
        for kind in ("execute", "replay", "list")
    }
    print(json.dumps({"calls": CALLS, "rounds": ROUNDS, **figures}))


if __name__ == "__main__":
    main()
