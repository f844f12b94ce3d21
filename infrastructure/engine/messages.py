"""What a job runner hears about: call slots granted, outcomes, wake-ups, a lost lease."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.job import RegistrationJob
from infrastructure.engine.clock import Clock
from infrastructure.executors.port import CallOutcome


@dataclass(frozen=True)
class Granted:
    """A call slot (and, in an outage, the probe) is ours for one attempt of `key`."""

    key: str
    probe: bool


@dataclass(frozen=True)
class Answered:
    """The call of `key` came back."""

    key: str
    outcome: CallOutcome
    probe: bool
    seconds: float


@dataclass(frozen=True)
class Wake:
    """Something may have changed in the store (cancel, retry-now, edits)."""


@dataclass(frozen=True)
class Lost:
    """Our lease on the job is gone: stop at once."""


@dataclass(frozen=True)
class Broke:
    """A call raised an error that is not transient (a bug): the job's run must end."""

    error: Exception


Message = Granted | Answered | Wake | Lost | Broke


@dataclass
class Step:
    """A command applied to the job, and what to do once its events are stored."""

    command: Callable[[RegistrationJob], Any]
    after: Callable[[Any], None] | None = None
    dropped: Callable[[], None] | None = None
    result: Any = None


class RetryClock:
    """When each waiting sub-step is due, on the engine's clock."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._due: dict[str, tuple[datetime | None, float]] = {}

    def set(self, key: str, retry_at: datetime | None, delay: float) -> None:
        self._due[key] = (retry_at, self._clock.monotonic() + delay)

    def due(self, key: str, retry_at: datetime | None) -> float:
        """When `key` may run; a changed retry_at (retry-now, interruption) is taken afresh."""
        known = self._due.get(key)
        if known is not None and known[0] == retry_at:
            return known[1]
        remaining = 0.0
        if retry_at is not None:
            remaining = max(0.0, (retry_at - self._clock.now()).total_seconds())
        self.set(key, retry_at, remaining)
        return self._due[key][1]
