"""What every job runner of one engine shares: store, executor, circuit, slots, time, and the
organisations erased."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from domain.retry import RetryPolicy
from infrastructure.engine.circuit import CircuitBreaker
from infrastructure.engine.clock import Clock
from infrastructure.engine.erasures import ErasureWatch
from infrastructure.engine.storage import GroupCommitter, StoreGateway
from infrastructure.executors.port import Executor
from infrastructure.flow.control import FlowControl

DEFAULT_POLICY = RetryPolicy()


@dataclass
class Shared:
    """The engine's parts a job runner uses."""

    gateway: StoreGateway
    committer: GroupCommitter
    executor: Executor
    circuit: CircuitBreaker
    worker_id: str
    clock: Clock
    random: Callable[[], float]
    policies: dict[str, RetryPolicy]
    check_interval: float
    flow: FlowControl
    erasures: ErasureWatch
    lease_slack: float = 0.0  # a run stops this long before its lease would expire unrenewed
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    calls_in_flight: int = 0
    registration_api: str | None = None

    def policy(self, key: str) -> RetryPolicy:
        """The retry policy of sub-step `key`."""
        return self.policies.get(key, self.policies.get("*", DEFAULT_POLICY))
