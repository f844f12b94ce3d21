"""Jobs set aside after an error that is not transient: left alone with backoff, and reported."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from domain.outcomes import quarantine_seconds
from infrastructure.engine.clock import Clock


@dataclass
class Quarantine:
    """Which jobs broke, how often in a row, and until when they are left alone."""

    clock: Clock
    strikes: dict[str, int] = field(default_factory=dict)
    until: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def hold(self, job_id: str, error: str) -> float:
        """Set `job_id` aside after another break; returns how many seconds."""
        strikes = self.strikes[job_id] = self.strikes.get(job_id, 0) + 1
        seconds = quarantine_seconds(strikes)
        self.until[job_id] = self.clock.monotonic() + seconds
        self.errors[job_id] = error
        return seconds

    def holds(self, job_id: str) -> bool:
        """Whether `job_id` is still set aside."""
        return self.until.get(job_id, float("-inf")) > self.clock.monotonic()

    def release(self, job_id: str) -> None:
        """Try the job again at once (an operator acted on it); its strikes are kept."""
        self.until.pop(job_id, None)

    def clear(self, job_id: str) -> None:
        """The job ran to an end again (or an operator acted on it): forget its strikes."""
        self.strikes.pop(job_id, None)
        self.until.pop(job_id, None)
        self.errors.pop(job_id, None)

    @property
    def degraded(self) -> bool:
        return bool(self.strikes)

    def report(self) -> dict[str, Any]:
        """What readiness shows: the jobs set aside and the error that set them aside."""
        return {
            "degraded": self.degraded,
            "quarantined": [
                {"job_id": j, "strikes": n, "error": self.errors.get(j, "")}
                for j, n in sorted(self.strikes.items())
            ],
        }
