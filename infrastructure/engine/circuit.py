"""A circuit breaker over the registration API: an outage pauses calls instead of failing jobs."""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum

from infrastructure import metrics
from infrastructure.engine.clock import Clock, wait_for_event

log = logging.getLogger("regflow.engine")
SAID = {
    "open": "the registration API looks down; calls pause and jobs wait instead of failing",
    "half_open": "probing the registration API with one call",
}


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Opens after a run of transient errors across jobs; one probe at a time closes it."""

    def __init__(
        self,
        *,
        threshold: int = 8,
        cooldown: float = 2.0,
        max_cooldown: float = 30.0,
        clock: Clock,
    ) -> None:
        self.threshold = threshold
        self.base_cooldown = cooldown
        self.max_cooldown = max_cooldown
        self._clock = clock
        self.state = CircuitState.CLOSED
        self.failures = 0
        self.opened_at = 0.0
        self.cooldown = cooldown
        self._probing = False
        self._changed = asyncio.Event()

    async def permit(self) -> bool:
        """Wait until a call may go out; True when that call is the probe."""
        while True:
            if self.state == CircuitState.CLOSED:
                return False
            if self.state == CircuitState.OPEN:
                wait = self.opened_at + self.cooldown - self._clock.monotonic()
                if wait <= 0:
                    self._set(CircuitState.HALF_OPEN)
                else:
                    await self._wait_change(wait)
                    continue
            if not self._probing:
                self._probing = True
                return True
            await self._wait_change(self.cooldown)

    async def _wait_change(self, seconds: float) -> None:
        self._changed.clear()
        await wait_for_event(self._changed, seconds, self._clock)

    def record(self, transient_failure: bool, probe: bool) -> None:
        """Count an outcome: a success or a permanent answer shows the API is up."""
        if probe:
            self._probing = False
        if not transient_failure:
            self.failures = 0
            self.cooldown = self.base_cooldown
            if self.state != CircuitState.CLOSED:
                self._set(CircuitState.CLOSED)
            return
        self.failures += 1
        if probe or (self.state == CircuitState.CLOSED and self.failures >= self.threshold):
            if probe:
                self.cooldown = min(self.cooldown * 2, self.max_cooldown)
            self.opened_at = self._clock.monotonic()
            self._set(CircuitState.OPEN)

    def abandon(self, probe: bool) -> None:
        """A call that never got an answer (stopped or cancelled) frees the probe slot."""
        if probe:
            self._probing = False
            self._changed.set()

    @property
    def outage(self) -> bool:
        """Whether failures now are blamed on the API rather than on one sub-step."""
        return self.state != CircuitState.CLOSED

    def _set(self, state: CircuitState) -> None:
        if state != self.state:
            metrics.circuit_transitions.labels(state=str(state)).inc()
            log.info(
                "circuit %s: %s",
                str(state).replace("_", "-"),
                SAID.get(str(state), "the registration API answers again"),
            )
        self.state = state
        metrics.circuit_state.set({"closed": 0, "half_open": 1, "open": 2}[state])
        self._changed.set()
