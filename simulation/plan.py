"""A seeded schedule of everything that happens in one simulated run."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from domain.execution_config import ExecutionConfig
from domain.plan import PLAN
from domain.retry import RetryPolicy
from simulation.api import TRANSIENT
from simulation.store import StoreFaults

CHAOS_SECONDS = 150.0
# Attempts enough that bad luck cannot exhaust them: a lone sub-step can fail CIRCUIT_THRESHOLD
# times before the circuit opens, plus one planned fault and up to three interruptions.
CIRCUIT_THRESHOLD = 3
POLICY = RetryPolicy(
    max_attempts=8, initial_delay=1.0, multiplier=2.0, max_delay=10.0, jitter=0.2, timeout=10.0
)
OPERATIONS = ("cancel", "resume", "reset", "mark")


@dataclass
class Operation:
    """An operator command at time `at` on job number `job`."""

    at: float
    kind: str
    job: int
    sub_step: str
    status: str


@dataclass
class Plan:
    """Jobs, faults, crashes and operator commands of one seed."""

    configs: list[dict[str, Any]]
    workers: int
    store: StoreFaults
    api_outages: list[tuple[float, float]]
    transient: dict[tuple[int, str], list[str]]
    permanent: set[tuple[int, str]]
    crashes: list[tuple[float, int, float]]  # when, which worker, down for how long
    partitions: list[tuple[float, float]]  # the busiest worker loses the lease table
    operations: list[Operation] = field(default_factory=list)

    def will_run(self, job: int) -> set[str]:
        """Sub-steps of job number `job` that its config leaves on."""
        disabled = ExecutionConfig.model_validate(self.configs[job]).disabled_sub_steps()
        on = {k for k in PLAN.keys if k not in disabled}
        if "menuImport" not in on:
            on -= {"optionSets", "itemTags"}
        return on


def _config(rng: random.Random) -> dict[str, Any]:
    config: dict[str, Any] = {
        "account": {"email": "owner@example.com", "password": "hunter2", "phone": "+64 21 000"},
        "restaurant": {"name": "Buzz", "address": "1 Queen St", "city": "Auckland"},
    }
    if rng.random() < 0.8:
        config["menu"] = {"menu_id": "m-1"}
    if rng.random() < 0.7:
        config["payment"] = {"enabled": True}
    if rng.random() < 0.7:
        config["onboarding_user"] = {"enabled": True}
    return config


def _windows(
    rng: random.Random, most: int, shortest: float, longest: float, within: float = CHAOS_SECONDS
) -> list[Any]:
    starts = sorted(rng.uniform(0, within) for _ in range(rng.randint(0, most)))
    return [(s, s + rng.uniform(shortest, longest)) for s in starts]


def make_plan(rng: random.Random) -> Plan:
    """Everything one seed will do, drawn from its generator."""
    configs = [_config(rng) for _ in range(rng.randint(2, 6))]
    workers = rng.randint(2, 3)
    store = StoreFaults(
        fail_commit=rng.choice((0.0, 0.02, 0.05)),
        ambiguous_commit=rng.choice((0.0, 0.05, 0.15)),
        drop_read=rng.choice((0.0, 0.01, 0.03)),
        slow_write=rng.choice((0.0, 0.05)),
        outages=_windows(rng, 1, 2.0, 20.0),
    )
    transient: dict[tuple[int, str], list[str]] = {}
    permanent: set[tuple[int, str]] = set()
    for job in range(len(configs)):
        for key in PLAN.keys:
            if rng.random() < 0.25:
                transient[(job, key)] = [rng.choice(TRANSIENT)]
            if rng.random() < 0.015:
                permanent.add((job, key))
    crashes = [
        (rng.uniform(0, CHAOS_SECONDS), rng.randrange(workers), rng.uniform(5, 60))
        for _ in range(rng.randint(0, 2))
    ]
    # A partition early in the run cuts a worker off while its jobs are mid-way.
    cut_off = _windows(rng, 1, 35.0, 90.0, within=40.0)
    partitions = list(cut_off)
    operations = [
        Operation(
            at=rng.uniform(0, CHAOS_SECONDS),
            kind=rng.choice(OPERATIONS),
            job=rng.randrange(len(configs)),
            sub_step=rng.choice(PLAN.keys),
            status=rng.choice(("completed", "failed", "skipped")),
        )
        for _ in range(rng.randint(0, 6))
    ]
    return Plan(
        configs=configs,
        workers=workers,
        store=store,
        api_outages=_windows(rng, 1, 100.0, 400.0, within=60.0),
        transient=transient,
        permanent=permanent,
        crashes=crashes,
        partitions=partitions,
        operations=sorted(operations, key=lambda o: o.at),
    )
