"""Readiness says whether the process can do its role's work: a process that runs jobs (role
`all` or `worker`) is not ready while its engine is not running or the registration API's
circuit is open, and says which; an `api` process is ready whatever any engine does; a call
waiting out a Retry-After leaves the process ready."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.app import create_app
from api.health import BUSY, engine_problems
from api.runtime import RUNTIME, build_app
from api.services import SERVICES
from infrastructure.engine.circuit import CircuitBreaker, CircuitState
from infrastructure.engine.clock import SYSTEM_CLOCK
from infrastructure.settings import Settings, reveal
from tests.api.conftest import Caller, Client, MakeClient, restaurant
from tests.api.test_engine_flows import simulator
from tests.conftest import new_database
from tests.kit import eventually_value

DEADLINE = 20.0


async def caller_of_role(aiohttp_client: MakeClient, api_settings: Settings, role: str) -> Caller:
    """A caller of a process of `role`, its engine against the embedded simulator."""
    update: dict[str, Any] = {"role": role}
    if api_settings.is_postgres:
        update["registration_api_url"] = "simulator"
    client = await aiohttp_client(build_app(api_settings.model_copy(update=update)))
    org, key = (reveal(api_settings.api_keys) or "").split(",")[0].split(":", 1)
    return Caller(client, org, key)


@pytest.fixture
def own_store(api_settings: Settings) -> Iterator[Settings]:
    """The settings on a store of this test's own. These engines run against faults (an
    outage, a long Retry-After) and leave jobs waiting them out: in the session's shared
    PostgreSQL database, the engines of later tests would find those jobs and wait for them."""
    if not api_settings.is_postgres:
        yield api_settings  # a SQLite file of this test's own already
        return
    with new_database("regflow_ready") as (_, url):
        yield api_settings.model_copy(update={"database_url": url})


@pytest.fixture
async def caller(own_store: Settings, aiohttp_client: MakeClient) -> Caller:
    """A caller of a process of role `all`: API and engine."""
    return await caller_of_role(aiohttp_client, own_store, "all")


@pytest.fixture
async def worker(own_store: Settings, aiohttp_client: MakeClient) -> Caller:
    """A caller of a process of role `worker`: the engine, and health only."""
    return await caller_of_role(aiohttp_client, own_store, "worker")


async def readiness(client: Client, key: str | None = None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with client.get("/health/ready", headers=headers) as response:
        return response.status, await response.json()


def engine_of(client: Client) -> Any:
    engine = client.app[RUNTIME].engine
    assert engine is not None
    return engine


class TestTheCircuit:
    async def test_an_open_circuit_makes_a_worker_unready_and_says_so(self, worker: Caller) -> None:
        assert (await readiness(worker.client))[0] == 200
        engine_of(worker.client).shared.circuit.record(True, probe=True)
        for key in (worker.key, None):
            status, body = await readiness(worker.client, key)
            assert status == 503
            assert any(e.startswith("circuit: open") for e in body["errors"]), body
        engine_of(worker.client).shared.circuit.record(False, probe=False)
        assert await readiness(worker.client) == (200, {"success": True, "status": "ready"})

    async def test_an_open_circuit_leaves_a_process_of_role_all_serving_and_shown(
        self, caller: Caller
    ) -> None:
        """A process of role `all` serves the API operators need most during an outage of
        the registration API: it stays ready, and its checks show the circuit."""
        engine_of(caller.client).shared.circuit.record(True, probe=True)
        assert (await readiness(caller.client))[0] == 200
        status, body = await readiness(caller.client, caller.key)
        assert status == 200 and body["checks"]["engine"]["circuit"] == "open", body
        engine_of(caller.client).shared.circuit.record(False, probe=False)
        assert await readiness(caller.client) == (200, {"success": True, "status": "ready"})

    async def test_an_outage_of_the_registration_api_is_shown_while_the_api_serves(
        self, caller: Caller
    ) -> None:
        await simulator(
            caller.client, "PUT", "/_simulator/faults", {"faults": [{"kind": "unavailable"}]}
        )
        batch = await caller.new_batch(*(restaurant(f"R{i}") for i in range(4)))
        assert (await caller.post(f"/api/registration-batches/{batch['id']}/step-6/start"))[
            0
        ] == 202

        async def said() -> Any:
            status, body = await readiness(caller.client, caller.key)
            assert status == 200, body  # `all` serves the API through the outage
            return body if body["checks"]["engine"]["circuit"] != "closed" else None

        await eventually_value(said, DEADLINE, 0.05)

    async def test_a_call_waiting_out_a_retry_after_leaves_the_process_ready(
        self, caller: Caller
    ) -> None:
        fault = {"kind": "rate_limited", "retry_after": 600}
        await simulator(caller.client, "PUT", "/_simulator/faults", {"faults": [fault]})
        batch = await caller.new_batch(*(restaurant(f"R{i}") for i in range(4)))
        assert (await caller.post(f"/api/registration-batches/{batch['id']}/step-6/start"))[
            0
        ] == 202

        async def answered() -> Any:
            calls = (await simulator(caller.client, "GET", "/_simulator/calls"))["calls"]
            return calls if len(calls) >= 4 else None  # each job's first phase was refused

        await eventually_value(answered, DEADLINE, 0.05)
        assert engine_of(caller.client).shared.circuit.state == CircuitState.CLOSED
        assert (await readiness(caller.client))[0] == 200


class TestTheEngine:
    async def test_an_engine_whose_loops_died_is_not_ready(self, caller: Caller) -> None:
        engine = engine_of(caller.client)
        engine._loops[1].cancel()  # the loop that finds work

        async def unready() -> Any:
            status, body = await readiness(caller.client)
            return body if status == 503 else None

        body = await eventually_value(unready, DEADLINE, 0.05)
        assert body["errors"] == ["engine: not running (a process of role all runs jobs)"]

    @pytest.mark.parametrize("role", ["all", "worker"])
    async def test_a_process_of_a_role_that_runs_jobs_without_an_engine_is_not_ready(
        self, aiohttp_client: MakeClient, api_settings: Settings, role: str
    ) -> None:
        client = await aiohttp_client(create_app(api_settings.model_copy(update={"role": role})))
        status, body = await readiness(client)
        # the shared store's views may be catching up on what earlier tests wrote ("view: not
        # ready" beside it): what this process lacks is an engine
        assert status == 503
        assert f"engine: not running (a process of role {role} runs jobs)" in body["errors"]

    async def test_an_api_process_is_ready_without_any_engine(self, client: Client) -> None:
        assert await readiness(client) == (200, {"success": True, "status": "ready"})


OUTCOMES = st.lists(st.tuples(st.booleans(), st.booleans()), max_size=40)


@given(outcomes=OUTCOMES, role=st.sampled_from(["all", "worker", "api"]))
def test_readiness_follows_the_circuit_in_a_worker(
    outcomes: list[tuple[bool, bool]], role: str
) -> None:
    circuit = CircuitBreaker(threshold=3, clock=SYSTEM_CLOCK)
    for failed, probe in outcomes:
        circuit.record(failed, probe)
    health = {"running": True, "worker_id_held": True, "circuit": str(circuit.state)}
    problems = engine_problems(role, health)
    unready = role == "worker" and circuit.state != CircuitState.CLOSED
    assert bool(problems) == unready
    assert all(p.startswith(f"circuit: {circuit.state}") for p in problems)


@given(
    health=st.none()
    | st.fixed_dictionaries({"running": st.booleans(), "circuit": st.just("closed")}),
    role=st.sampled_from(["all", "worker", "api"]),
)
def test_readiness_follows_the_engine_in_a_role_that_runs_jobs(
    health: dict[str, Any] | None, role: str
) -> None:
    running = health is not None and health["running"]
    assert bool(engine_problems(role, health)) == (role != "api" and not running)


async def test_a_process_whose_store_threads_are_all_busy_says_busy_not_unreachable(
    aiohttp_client: MakeClient, api_settings: Settings
) -> None:
    """A burst of reads can hold every store thread of a process longer than readiness waits
    for the store's answer: the process is not ready (it sheds load until they free up), and
    says why; the store was never asked, so it is not named unreachable."""
    app = create_app(api_settings.model_copy(update={"role": "api"}))
    client = await aiohttp_client(app)
    _, key = (reveal(api_settings.api_keys) or "").split(",")[0].split(":", 1)
    headers = {"Authorization": f"Bearer {key}"}
    pool = app[SERVICES].pool
    assert pool is not None
    release = threading.Event()
    held = [pool.submit(release.wait) for _ in range(pool._max_workers)]
    try:
        for probe in (headers, {}):
            async with client.get("/health/ready", headers=probe) as response:
                assert response.status == 503
                assert (await response.json())["errors"] == [BUSY]
    finally:
        release.set()
    assert all(f.result(timeout=5) for f in held)

    async def ready() -> bool | None:
        async with client.get("/health/ready", headers=headers) as response:
            return True if response.status == 200 else None

    assert await eventually_value(ready, timeout=DEADLINE, interval=0.1)
