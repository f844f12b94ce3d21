"""A circuit breaker over the registration API: an outage pauses calls instead of failing jobs."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
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


MAX_PAUSE_SECONDS = 600.0


class CircuitBreaker:
    """Opens after a run of transient errors across jobs; one probe at a time closes it.

    A pause is bounded: calls that have failed for `max_pause` seconds on end, with no
    success anywhere, are not an outage the jobs should wait out. regflow cannot tell a
    registration API down for everyone from one endpoint that keeps failing when that
    endpoint's calls are the only ones left (a batch waiting on `paymentConfig`), and a pause
    that lasts for ever leaves those jobs retrying for ever. So the circuit closes, says so,
    and opens no more until a call succeeds: attempts count again and the jobs end as their
    policies say (failed, to be resumed once the API answers)."""

    def __init__(
        self,
        *,
        threshold: int = 8,
        cooldown: float = 2.0,
        max_cooldown: float = 30.0,
        max_pause: float = MAX_PAUSE_SECONDS,
        clock: Clock,
    ) -> None:
        self.threshold = threshold
        self.base_cooldown = cooldown
        self.max_cooldown = max_cooldown
        self.max_pause = max_pause
        self._clock = clock
        self.state = CircuitState.CLOSED
        self.failures = 0
        self.opened_at = 0.0
        self.paused_since: float | None = None  # when the pause began (first opened)
        self.gave_up = False  # paused max_pause in vain: opens no more until a success
        self.cooldown = cooldown
        self._probing = False
        self._changed = asyncio.Event()
        self._waiting: Counter[str] = Counter()  # calls held back, by what they call
        self.failed_probe: str | None = None  # what the last probe called, when it failed

    async def permit(self, called: str = "") -> bool:
        """Wait until a call (of `called`: a sub-step, whose endpoint it is) may go out; True
        when that call is the probe. Probes take turns: while calls of something else wait,
        what the last failed probe called does not probe again, so one endpoint that keeps
        failing does not keep the circuit open while the rest of the API answers."""
        self._waiting[called] += 1
        try:
            return await self._permit(called)
        finally:
            self._waiting[called] -= 1
            if not self._waiting[called]:
                del self._waiting[called]

    async def _permit(self, called: str) -> bool:
        while True:
            self._give_up_when_due()
            if self.state == CircuitState.CLOSED:
                return False
            if self.state == CircuitState.OPEN:
                wait = self.opened_at + self.cooldown - self._clock.monotonic()
                if wait <= 0:
                    self._set(CircuitState.HALF_OPEN)
                else:
                    await self._wait_change(wait)
                    continue
            if not self._probing and not self._gives_way(called):
                self._probing = True
                return True
            await self._wait_change(self.cooldown)

    def _gives_way(self, called: str) -> bool:
        """Whether a call of `called` leaves the probe to a call of something else waiting."""
        return called == self.failed_probe and len(self._waiting) > 1

    async def _wait_change(self, seconds: float) -> None:
        self._changed.clear()
        await wait_for_event(self._changed, seconds, self._clock)

    def record(self, transient_failure: bool, probe: bool, called: str = "") -> None:
        """Count an outcome (of a call of `called`): a success or a permanent answer shows the
        API is up."""
        if probe:
            self._probing = False
            self.failed_probe = called if transient_failure else None
        if not transient_failure:
            self.failures = 0
            self.cooldown = self.base_cooldown
            self.paused_since, self.gave_up = None, False
            if self.state != CircuitState.CLOSED:
                self._set(CircuitState.CLOSED)
            return
        self.failures += 1
        if self.gave_up or self._give_up_when_due():
            return
        if probe or (self.state == CircuitState.CLOSED and self.failures >= self.threshold):
            if probe:
                self.cooldown = min(self.cooldown * 2, self.max_cooldown)
            self.opened_at = self._clock.monotonic()
            if self.paused_since is None:
                self.paused_since = self.opened_at
            self._set(CircuitState.OPEN)

    def _give_up_when_due(self) -> bool:
        """Close for good (until a success) once the pause has lasted `max_pause`."""
        since = self.paused_since
        if self.gave_up or since is None or self._clock.monotonic() - since < self.max_pause:
            return self.gave_up
        self.gave_up = True
        self._set(
            CircuitState.CLOSED,
            f"calls have failed for {self._clock.monotonic() - since:.0f} s with no success, "
            "longer than an outage is waited out; attempts count again until a call succeeds "
            "(one endpoint that keeps failing looks like an outage when its calls are the only "
            "ones left)",
        )
        return True

    def abandon(self, probe: bool) -> None:
        """A call that never got an answer (stopped or cancelled) frees the probe slot."""
        if probe:
            self._probing = False
            self._changed.set()

    @property
    def outage(self) -> bool:
        """Whether failures now are blamed on the API rather than on one sub-step."""
        return self.state != CircuitState.CLOSED

    def _set(self, state: CircuitState, gave_up: str | None = None) -> None:
        if state != self.state:
            metrics.circuit_transitions.labels(state=str(state)).inc()
            said = gave_up or SAID.get(str(state), "the registration API answers again")
            level = logging.WARNING if gave_up else logging.INFO
            log.log(level, "circuit %s: %s", str(state).replace("_", "-"), said)
        self.state = state
        metrics.circuit_state.set({"closed": 0, "half_open": 1, "open": 2}[state])
        self._changed.set()
