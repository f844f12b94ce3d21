"""A job's calls give back their slot and circuit probe however the run stops them."""

from __future__ import annotations

import asyncio
from typing import Any, cast
from uuid import uuid4

import pytest

from domain.job import RegistrationJob
from domain.plan import PLAN
from domain.secret_types import ERASED
from infrastructure.engine.calls import CallLauncher, payload_of
from infrastructure.engine.circuit import CircuitBreaker, CircuitState
from infrastructure.engine.erasures import ErasureWatch
from infrastructure.engine.messages import Answered, Granted, Message
from infrastructure.engine.shared import Shared
from infrastructure.executors.port import ERASED_DATA_CALL, CallOutcome, SubStepCall
from infrastructure.flow.config import FlowConfig
from infrastructure.flow.control import FlowControl
from infrastructure.flow.ledger import MemoryLedger
from tests.unit.flow_kit import FakeClock
from tests.unit.jobs import FULL_CONFIG, running_job

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


class RecordingApi:
    """An executor that answers at once and keeps the calls it was asked to make."""

    def __init__(self) -> None:
        self.calls: list[SubStepCall] = []

    async def call(self, call: SubStepCall) -> CallOutcome:
        self.calls.append(call)
        return CallOutcome(ok=True)


class ErasedOrNot:
    """An erasure watch whose answer the test sets."""

    def __init__(self, erased: bool) -> None:
        self.erased = erased

    async def erased_since(self, organisation_id: str, moment: float) -> bool:
        return self.erased


class StoredNow:
    """The store's gateway, holding the job as a fresh read finds it."""

    def __init__(self, job: RegistrationJob) -> None:
        self.job = job
        self.loads = 0

    async def load(self, job_id: str) -> RegistrationJob:
        self.loads += 1
        return self.job


def job_of(name: str) -> RegistrationJob:
    job = RegistrationJob.register(uuid4(), "org-1", {"name": name}, dict(FULL_CONFIG), "u:1")
    job.start_step6("user:u-1")
    return job


async def answered_call(
    key: str, erased_since_read: bool, stored_name: str
) -> tuple[CallOutcome, RecordingApi, StoredNow]:
    clock, api = FakeClock(), RecordingApi()
    launcher = launcher_on(clock, cast(Any, api), probing=False)
    stored = StoredNow(job_of(stored_name))
    launcher.shared.gateway = cast(Any, stored)
    launcher.shared.erasures = cast(Any, ErasedOrNot(erased_since_read))
    launcher.request(key, "org-1")
    granted = await asyncio.wait_for(launcher.inbox.get(), timeout=5)
    assert isinstance(granted, Granted)
    launcher.granted(key)
    launcher.launch(job_of("Held in memory"), granted)
    answered = await asyncio.wait_for(launcher.inbox.get(), timeout=5)
    assert isinstance(answered, Answered)
    return answered.outcome, api, stored


@pytest.mark.parametrize("key", PLAN.keys)
async def test_a_job_read_before_an_erasure_calls_only_with_what_a_fresh_read_finds(
    key: str,
) -> None:
    """Erased since the job in memory was read: what it holds never leaves. The call is built
    from the job stored now, made when that holds data given since the erasure, and not made
    when it holds erased data."""
    outcome, api, stored = await answered_call(key, True, "Given after the erasure")
    assert stored.loads == 1 and outcome.ok
    [made] = api.calls
    assert made.payload == payload_of(stored.job, key)
    assert "Held in memory" not in repr(made.payload)

    outcome, api, stored = await answered_call(key, True, ERASED)
    assert (outcome, api.calls) == (ERASED_DATA_CALL, [])


@pytest.mark.parametrize("key", PLAN.keys)
async def test_a_job_read_after_every_erasure_calls_with_what_it_holds(key: str) -> None:
    outcome, api, stored = await answered_call(key, False, ERASED)
    assert outcome.ok and stored.loads == 0
    [made] = api.calls
    assert "Held in memory" in repr(made.payload)
