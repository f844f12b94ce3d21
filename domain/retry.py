"""Retry policies: how many attempts, and how long to wait before the next one."""

from __future__ import annotations

import math
from dataclasses import dataclass

RETRY_AFTER_CAP_FACTOR = 10.0


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with a cap, jitter and a per-attempt timeout."""

    max_attempts: int = 5
    initial_delay: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 60.0
    jitter: float = 0.1
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise ValueError(f"max_attempts must be an integer, got {self.max_attempts!r}")
        for problem in self._problems():
            raise ValueError(f"invalid retry policy: {problem}")

    def _problems(self) -> list[str]:
        numbers = (self.initial_delay, self.multiplier, self.max_delay, self.jitter, self.timeout)
        if not all(math.isfinite(n) for n in numbers):
            return ["every delay, factor and timeout must be a finite number"]
        checks = [
            (self.max_attempts < 1, f"max_attempts must be at least 1, got {self.max_attempts}"),
            (self.initial_delay < 0, f"initial_delay must be >= 0, got {self.initial_delay}"),
            (self.multiplier < 1, f"multiplier must be >= 1, got {self.multiplier}"),
            (
                self.max_delay < self.initial_delay,
                f"max_delay ({self.max_delay}) must be >= initial_delay ({self.initial_delay})",
            ),
            (not 0 <= self.jitter < 1, f"jitter must be in [0, 1), got {self.jitter}"),
            (self.timeout <= 0, f"timeout must be > 0, got {self.timeout}"),
        ]
        return [message for failed, message in checks if failed]

    @property
    def retries(self) -> int:
        """How many attempts may follow the first one."""
        return self.max_attempts - 1

    @property
    def retry_after_cap(self) -> float:
        """The longest wait a server's Retry-After can impose."""
        return RETRY_AFTER_CAP_FACTOR * self.max_delay

    def may_retry(self, attempt: int) -> bool:
        """Whether another attempt may follow the failed attempt number `attempt` (1-based)."""
        _check_attempt(attempt)
        return attempt < self.max_attempts

    def delay_before(
        self, attempt: int, random_fraction: float, retry_after: float | None = None
    ) -> float:
        """Seconds to wait after failed attempt `attempt` (1-based) before the next one."""
        _check_attempt(attempt)
        if not 0 <= random_fraction < 1:
            raise ValueError(f"random_fraction must be in [0, 1), got {random_fraction}")
        base = self._backoff(attempt)
        jittered = base * (1 + self.jitter * (2 * random_fraction - 1))
        delay = min(max(jittered, 0.0), self.max_delay)
        if retry_after is not None and math.isfinite(retry_after):
            delay = max(delay, min(retry_after, self.retry_after_cap))
        return delay

    def delay_when_full(self, random_fraction: float, retry_after: float | None = None) -> float:
        """Seconds to wait after an over-capacity answer (a 429), which uses up no attempt.

        The backoff does not grow: the server's Retry-After (capped), else the first delay,
        lengthened by jitter only, so no retry comes back before the server asked.
        """
        if not 0 <= random_fraction < 1:
            raise ValueError(f"random_fraction must be in [0, 1), got {random_fraction}")
        base = self.initial_delay
        if retry_after is not None and math.isfinite(retry_after):
            base = min(max(retry_after, 0.0), self.retry_after_cap)
        return base * (1 + self.jitter * random_fraction)

    def _backoff(self, attempt: int) -> float:
        if self.initial_delay == 0:
            return 0.0
        if self.multiplier == 1:
            return min(self.initial_delay, self.max_delay)
        steps_to_cap = math.log(self.max_delay / self.initial_delay, self.multiplier)
        if attempt - 1 >= steps_to_cap:
            return self.max_delay
        return min(self.initial_delay * self.multiplier ** (attempt - 1), self.max_delay)


def _check_attempt(attempt: int) -> None:
    if attempt < 1:
        raise ValueError(f"attempt numbers start at 1, got {attempt}")


STORAGE_WRITE_POLICY = RetryPolicy(
    max_attempts=4, initial_delay=1.0, multiplier=2.0, max_delay=4.0, jitter=0.0
)
"""Storage writes: three retries, 1 s, 2 s and 4 s apart (the seed's schedule)."""

STORE_READ_POLICY = RetryPolicy(
    max_attempts=6, initial_delay=0.5, multiplier=2.0, max_delay=4.0, jitter=0.1
)
"""Engine reads of the store: five retries about 0.5, 1, 2, 4 and 4 s apart (11.5 s in all)."""

COMMAND_CONFLICT_POLICY = RetryPolicy(
    max_attempts=8, initial_delay=0.005, multiplier=2.0, max_delay=0.2, jitter=0.5
)
"""A command that met another writer's change to its aggregate (another process's): loaded and
run again, about 5, 10, 20, 40, 80, 160 and 200 ms later (half as much either way, so that the
two do not meet again), eight attempts in all."""

FLOW_LEDGER_POLICY = RetryPolicy(
    max_attempts=1, initial_delay=0.4, multiplier=2.0, max_delay=5.0, jitter=0.0
)
"""Flow control's rounds with its ledger while the store is away: 0.4 s, doubling to 5 s, for
as long as it is away (only its delays are asked: no round is the last, calls wait for their
slots meanwhile)."""
