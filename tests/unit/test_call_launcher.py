"""A job's calls give back their slot and circuit probe however the run stops them."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from infrastructure.engine.calls import CallLauncher
from infrastructure.engine.circuit import CircuitBreaker, CircuitState
from infrastructure.engine.erasures import ErasureWatch
from infrastructure.engine.messages import Answered, Granted, Message
from infrastructure.engine.shared import Shared
from infrastructure.executors.port import CallOutcome, SubStepCall
from infrastructure.flow.config import FlowConfig
from infrastructure.flow.control import FlowControl
from infrastructure.flow.ledger import MemoryLedger
from tests.unit.flow_kit import FakeClock
from tests.unit.jobs import running_job

KEY = "codeGeneration"


class SlowApi:
    """An executor whose calls answer only when the test says so."""

    def __init__(self) -> None:
        self.started = 0
        self.answer: asyncio.Event = asyncio.Event()

    async def call(self, call: SubStepCall) -> CallOutcome:
        self.started += 1
        await self.answer.wait()
        return CallOutcome(ok=True)


def launcher_on(clock: FakeClock, api: SlowApi, probing: bool) -> CallLauncher:
    config = FlowConfig(max_in_flight=1)
    circuit = CircuitBreaker(threshold=1, cooldown=0.0, clock=clock)
    if probing:
        circuit.state = CircuitState.HALF_OPEN
    shared = Shared(
        gateway=cast(Any, None),
        committer=cast(Any, None),
        executor=api,
        circuit=circuit,
        worker_id="w1",
        clock=clock,
        random=lambda: 0.5,
        policies={},
        check_interval=60.0,
        flow=FlowControl(config, clock, MemoryLedger(config, clock.monotonic)),
        erasures=ErasureWatch(no_erasures, lambda: None, clock),
    )
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    return CallLauncher(shared, inbox, "job-1")


async def no_erasures() -> dict[str, int]:
    return {}


async def ticks(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


async def granted_slot(launcher: CallLauncher) -> Granted:
    launcher.request(KEY, "org-1")
    message = await asyncio.wait_for(launcher.inbox.get(), timeout=5)
    assert isinstance(message, Granted)
    launcher.granted(KEY)
    return message


@pytest.mark.parametrize("probing", [False, True])
@pytest.mark.parametrize("ticks_before_stop", range(6))
async def test_a_call_stopped_at_any_moment_gives_back_its_slot_and_probe(
    ticks_before_stop: int, probing: bool
) -> None:
    # Stopped at tick 0 the call's task has not begun: its own clean-up never runs.
    clock, api = FakeClock(), SlowApi()
    launcher = launcher_on(clock, api, probing)
    granted = await granted_slot(launcher)
    assert granted.probe is probing
    launcher.launch(running_job(), granted)
    await ticks(ticks_before_stop)
    launcher.cancel_all()
    await ticks(20)
    flow = launcher.shared.flow
    assert (flow.snapshot()["in_flight"], launcher.slots) == (0, {})
    assert launcher.shared.circuit._probing is False
    assert launcher.shared.calls_in_flight == 0
    # The slot is really free: the next call of the job gets it.
    again = launcher_on(clock, api, probing=False)
    again.shared.flow = flow
    assert isinstance(await granted_slot(again), Granted)


async def test_an_answered_call_gives_back_its_slot_once() -> None:
    clock, api = FakeClock(), SlowApi()
    launcher = launcher_on(clock, api, probing=False)
    launcher.launch(running_job(), await granted_slot(launcher))
    await ticks(3)
    api.answer.set()
    answered = await asyncio.wait_for(launcher.inbox.get(), timeout=5)
    assert isinstance(answered, Answered)
    launcher.answered(KEY)
    await ticks(20)
    assert launcher.shared.flow.snapshot()["in_flight"] == 0
    launcher.request(KEY, "org-1")
    assert isinstance(await asyncio.wait_for(launcher.inbox.get(), timeout=5), Granted)
    assert launcher.shared.flow.snapshot()["in_flight"] == 1
