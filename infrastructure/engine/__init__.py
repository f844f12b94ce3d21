"""The Step 6 engine: leases, scheduling, retries, circuit breaker and group commit."""

from __future__ import annotations

from infrastructure.engine.circuit import CircuitBreaker, CircuitState
from infrastructure.engine.engine import Engine
from infrastructure.engine.leases import Leases, open_leases
from infrastructure.engine.work_source import LogWorkSource, WorkSource

__all__ = [
    "CircuitBreaker",
    "CircuitState",
    "Engine",
    "Leases",
    "LogWorkSource",
    "WorkSource",
    "open_leases",
]
