"""The deterministic simulation: a slice of seeds holds every invariant, broken engines fail it."""

from __future__ import annotations

import asyncio

import pytest

from simulation.loop import Livelock, SimulatedLoop
from simulation.mutations import MUTATIONS
from simulation.runs import run_seed

SLICE = range(6)
# Seeds that found real defects, kept as regressions:
# 21: attempts spared during an API outage were counted again once another worker took
#     the job over (the spared count lived only in the first worker's memory).
# 240: a worker cut off from the lease table ran (and called the API) until the very moment
#      its lease expired, because it only noticed at the next renewal tick; the new owner's
#      retry of the same sub-step overlapped its call.
# 170: a runner whose sub-step waited to retry but could not run yet (not runnable) computed
#      "due now" for it and spun without letting simulated (or real) time pass.
# 61: a run that lost its lease just after launching a call cancelled the call's task before
#     it began, so the call's clean-up never ran: its flow-control slot stayed held, and with
#     the adaptive limit down to 1 the worker's later jobs waited for capacity for ever.
REGRESSIONS = (21, 61, 170, 240)
MUTATION_BOUND = 30


@pytest.mark.parametrize("seed", [*SLICE, *REGRESSIONS])
def test_every_invariant_holds(seed: int) -> None:
    outcome = run_seed(seed)
    assert outcome.violations == [], f"reproduce: make simulate SEED={seed}"


def test_a_seed_runs_the_same_way_twice() -> None:
    first, second = run_seed(3), run_seed(3)
    assert first.fingerprint == second.fingerprint
    assert (first.api_calls, first.faults, first.simulated_seconds) == (
        second.api_calls,
        second.faults,
        second.simulated_seconds,
    )


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_a_broken_guarantee_is_found_within_a_bounded_number_of_seeds(name: str) -> None:
    variant = MUTATIONS[name]
    failing = next(
        (s for s in range(MUTATION_BOUND) if run_seed(s, variant).violations),
        None,
    )
    assert failing is not None, f"{name}: no seed of {MUTATION_BOUND} noticed it"


def test_a_run_that_spins_without_letting_time_pass_is_reported_not_hung() -> None:
    async def spin() -> None:
        while True:
            await asyncio.sleep(0)

    loop = SimulatedLoop(livelock_turns=1000)
    try:
        with pytest.raises(Livelock, match="1000 loop turns at 0.0s"):
            loop.run_until_complete(spin())
    finally:
        for task in asyncio.all_tasks(loop):
            task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
