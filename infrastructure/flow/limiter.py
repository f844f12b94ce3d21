"""The adaptive in-flight limit (AIMD with a latency guard) and the token bucket."""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable

log = logging.getLogger("regflow.flow")
# A call in flight this many times as long as the quickest answer of its kind, and at least
# STALLED_AFTER_LEAST seconds, is stalled (see `AdaptiveLimit.stalled_after`).
STALLED_FACTOR = 8.0
STALLED_AFTER_LEAST = 1.0


class AdaptiveLimit:
    """Finds what the API takes: halves-ish on overload, grows slowly while latency holds.

    Slow start adds one per success until the first overload; after that each success adds
    1/(limit x `patience`), so the limit creeps past what the API took only about once every
    `patience` x limit answers. An overload cuts the limit to `backoff` x the calls that were in
    flight, once per round trip: not again for a call that was started before the last cut
    (it was sent under the limit that cut already answered; a burst of errors from calls in
    flight together is one cut, however far apart they come back), nor within the cutting
    call's own round trip, nor for the call whose overload made the last cut: one restaurant's
    endpoint answering 503 to each retry is that job's trouble, not the API's capacity, and
    cut the limit once per retry to one call for every job. A success whose latency is beyond
    `tolerance` x the least seen for its sub-step holds the limit still.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        initial: float = 4,
        minimum: int = 1,
        maximum: int = 32,
        backoff: float = 0.9,
        patience: float = 4.0,
        tolerance: float = 2.0,
        on_change: Callable[[int, int, str], None] | None = None,
    ) -> None:
        if not 1 <= minimum <= maximum:
            raise ValueError(
                f"adaptive bounds must satisfy 1 <= min <= max, got {minimum}, {maximum}"
            )
        self._clock = clock
        self.minimum, self.maximum = minimum, maximum
        self.backoff, self.patience, self.tolerance = backoff, patience, tolerance
        self._limit = float(min(max(initial, minimum), maximum))
        self.slow_start = True
        self._hold_until = float("-inf")
        self._last_cut_at = float("-inf")
        self._last_cut_by: str | None = None
        self._floors: dict[str, deque[float]] = {}
        self._on_change = on_change

    @property
    def limit(self) -> int:
        return int(self._limit)

    def succeeded(self, sub_step: str, seconds: float, in_flight: int) -> None:
        """An answer within capacity: grow unless latency rose or the limit was not in use."""
        floor = self._floor(sub_step, seconds)
        if seconds > self.tolerance * floor or in_flight * 2 < self._limit:
            return
        if self.slow_start:
            self._set(self._limit + 1.0, "slow start")
        else:
            self._set(self._limit + 1.0 / (self._limit * self.patience), "answers within capacity")

    def overloaded(
        self, in_flight: int, seconds: float, reason: str, call: str | None = None
    ) -> None:
        """A 429, a 503 or a timeout of a call that took `seconds`: cut the limit, once per
        round trip, unless `call` (a job's sub-step) is the one whose overload made the last
        cut."""
        now = self._clock()
        started = now - max(seconds, 0.0)
        if now < self._hold_until or started <= self._last_cut_at:
            return
        if call is not None and call == self._last_cut_by:
            return
        self._last_cut_by, self._last_cut_at = call, now
        self.slow_start = False
        self._hold_until = now + max(seconds, 0.001)
        self._set(min(self._limit, max(in_flight, 1)) * self.backoff, reason)

    def stalled_after(self, sub_step: str) -> float | None:
        """Seconds after which a call of `sub_step` still in flight is stalled: far longer
        than calls of its kind (else of any kind) have taken, it is waiting out its timeout
        (a hung endpoint) and tells nothing of the API's capacity. None until an answer
        was timed."""
        window = self._floors.get(sub_step)
        if window:
            least = min(window)
        elif self._floors:
            least = min(min(w) for w in self._floors.values() if w)
        else:
            return None
        return max(STALLED_AFTER_LEAST, STALLED_FACTOR * least)

    def _floor(self, sub_step: str, seconds: float) -> float:
        window = self._floors.setdefault(sub_step, deque(maxlen=100))
        window.append(seconds)
        return max(min(window), 1e-6)

    def _set(self, value: float, reason: str) -> None:
        before = self.limit
        self._limit = min(max(value, float(self.minimum)), float(self.maximum))
        if self.limit != before and self._on_change is not None:
            self._on_change(before, self.limit, reason)


class TokenBucket:
    """Calls started per second: a bucket refilled at `rate`, holding one second's worth."""

    def __init__(self, rate: float, clock: Callable[[], float]) -> None:
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"the rate must be a positive number, got {rate}")
        self.rate = rate
        self.capacity = max(rate, 1.0)
        self._clock = clock
        self._tokens = self.capacity
        self._at = clock()

    def available(self) -> int:
        """Whole tokens there now."""
        self._refill()
        return int(self._tokens)

    def take(self, count: int) -> None:
        self._refill()
        if count > int(self._tokens):
            raise ValueError(f"{count} tokens asked for, {int(self._tokens)} there")
        self._tokens -= count

    def seconds_to_next(self) -> float:
        """How long until one more whole token is there (0 when one is)."""
        self._refill()
        return max(0.0, (1.0 - self._tokens) / self.rate) if self._tokens < 1 else 0.0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now


def refill(tokens: float, elapsed: float, rate: float) -> float:
    """The same bucket arithmetic for a bucket stored elsewhere (the database)."""
    return min(max(rate, 1.0), tokens + max(elapsed, 0.0) * rate)
