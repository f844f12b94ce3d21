"""The circuit's pause is bounded: failures with no success for `max_pause` close it for good,
until a call succeeds; a shorter outage is waited out as before."""

from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.engine.circuit import CircuitBreaker, CircuitState
from tests.unit.flow_kit import FakeClock

MAX_PAUSE = 600.0


def opened(clock: FakeClock) -> CircuitBreaker:
    circuit = CircuitBreaker(threshold=3, cooldown=2.0, max_cooldown=30.0, clock=clock)
    for _ in range(3):
        circuit.record(transient_failure=True, probe=False)
    assert circuit.state == CircuitState.OPEN and circuit.outage
    return circuit


def probe_fails(circuit: CircuitBreaker, clock: FakeClock) -> None:
    """Wait out the cooldown, take the probe, and see it fail."""
    clock.advance(circuit.cooldown)
    is_probe = asyncio.run(circuit.permit())
    circuit.record(transient_failure=True, probe=is_probe)


@settings(max_examples=50, deadline=None)
@given(failed_probes=st.integers(0, 60))
def test_a_pause_shorter_than_the_bound_is_waited_out_however_many_probes_fail(
    failed_probes: int,
) -> None:
    clock = FakeClock()
    circuit = opened(clock)
    began = clock.t
    for _ in range(failed_probes):
        if clock.t - began + circuit.cooldown >= MAX_PAUSE:
            break
        probe_fails(circuit, clock)
        assert circuit.outage  # every failure blamed on the outage: no attempt counts
    assert not circuit.gave_up


def test_after_the_bound_the_circuit_closes_until_a_success() -> None:
    clock = FakeClock()
    circuit = opened(clock)
    while clock.t - 100.0 < MAX_PAUSE:
        probe_fails(circuit, clock)
    assert circuit.state == CircuitState.CLOSED and not circuit.outage and circuit.gave_up
    for _ in range(50):  # failures now count against the sub-steps: it opens no more
        circuit.record(transient_failure=True, probe=False)
        assert circuit.state == CircuitState.CLOSED
    assert asyncio.run(circuit.permit()) is False  # calls are not held back
    circuit.record(transient_failure=False, probe=False)  # one success: the API answers
    assert not circuit.gave_up and circuit.paused_since is None
    for _ in range(3):
        circuit.record(transient_failure=True, probe=False)
    assert circuit.state == CircuitState.OPEN  # a later outage is paused again


def test_a_call_waiting_for_the_probe_when_the_bound_passes_goes_ahead() -> None:
    """Nobody probing (the probe hung or was cancelled): the bound is seen by a waiting call."""
    clock = FakeClock()
    circuit = opened(clock)
    clock.advance(MAX_PAUSE)
    assert asyncio.run(circuit.permit()) is False
    assert circuit.gave_up and circuit.state == CircuitState.CLOSED
