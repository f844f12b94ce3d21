"""Flow control of one process: calls wait here, fairly, for slots the ledger grants.

`FlowControl` is one class of about 190 lines: waiting, releasing, the pump that exchanges rounds
with the ledger and what it learns from outcomes share the waiting calls and the adaptive limit,
so they stay together; fairness, the limit, the lessons and the ledgers are modules of their own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from domain.retry import FLOW_LEDGER_POLICY
from infrastructure.executors.port import CallOutcome
from infrastructure.flow import metrics
from infrastructure.flow.config import FlowConfig
from infrastructure.flow.fair import Waiter, WaitingCalls
from infrastructure.flow.ledger import Answer, Exchange, FlowUnavailable, Ledger, Slot
from infrastructure.flow.lessons import log_change, pause_asked, teach
from infrastructure.flow.limiter import AdaptiveLimit

log = logging.getLogger("regflow.flow")


class Clock(Protocol):
    """What flow control needs of the engine's Clock port: monotonic time and sleeping."""

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class FlowControl:
    """Waiting calls, the slots this process holds, and what answers teach the limit."""

    def __init__(
        self,
        config: FlowConfig,
        clock: Clock,
        ledger: Ledger,
        run: Callable[[Callable[[], Answer]], Awaitable[Answer]] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.ledger = ledger
        self._run = run
        self.adaptive = (
            AdaptiveLimit(
                clock.monotonic,
                initial=min(config.initial_limit, config.local_max),
                maximum=config.local_max,
                on_change=log_change,
            )
            if config.adaptive
            else None
        )
        self.waiting = WaitingCalls()
        self.held: dict[int, Slot] = {}
        self._held_for: dict[int, str] = {}  # slot id -> the job whose call holds it
        self._held_since: dict[int, float] = {}  # slot id -> when its call was let through
        self.paused: frozenset[str] = frozenset()
        self._releases: list[Slot] = []
        self._pauses: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self._orgs_shown: set[str] = set()
        metrics.api_limit.set(self.limit)  # from the start, not from the first call's round

    @property
    def limit(self) -> int:
        """Calls this process may have in flight now."""
        if self.adaptive is not None:
            return self.adaptive.limit
        return min(self.config.max_in_flight or self.config.local_max, self.config.local_max)

    async def acquire(self, organisation: str, sub_step: str, job_id: str) -> Slot:
        """Wait, in turn with other organisations, for a slot for one call."""
        waiter = Waiter(organisation, sub_step, job_id)
        self.waiting.push(waiter)
        self._kick()
        try:
            slot = await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled():
                self.release(waiter.future.result())  # type: ignore[arg-type]
            else:
                self.waiting.remove(waiter)
                self._kick()
            raise
        assert isinstance(slot, Slot)
        return slot

    def release(self, slot: Slot, outcome: CallOutcome | None = None, seconds: float = 0.0) -> None:
        """Give a slot back; the call's outcome, if it had one, teaches the limit."""
        job_id = self._held_for.pop(slot.id, "")
        self._held_since.pop(slot.id, None)
        if self.held.pop(slot.id, None) is None:
            return
        if outcome is not None:
            self._learn(slot, outcome, seconds, len(self.held) + 1, f"{job_id}:{slot.sub_step}")
        self._releases.append(slot)
        self._kick()

    def _learn(
        self, slot: Slot, outcome: CallOutcome, seconds: float, in_flight: int, call: str
    ) -> None:
        pause = pause_asked(slot.sub_step, outcome)
        if pause is not None:
            self._pauses[slot.sub_step] = pause
        if self.adaptive is not None:
            teach(self.adaptive, slot.sub_step, outcome, seconds, in_flight, call)

    def _kick(self) -> None:
        self._wake.set()
        if self._pump is None or self._pump.done():
            self._pump = asyncio.ensure_future(self._pump_forever())

    async def _pump_forever(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            try:
                answer = await self._round()
                failures, delay = 0, answer.retry_in
            except FlowUnavailable as exc:
                failures += 1
                delay = self._after_failure(failures)
                log.warning("flow control: ledger unavailable (%s); again in %.1fs", exc, delay)
            except Exception:
                failures += 1
                delay = self._after_failure(failures, FLOW_LEDGER_POLICY.max_delay)
                log.exception("flow control: a round with the ledger failed; again in %.1fs", delay)
            if not (self.waiting or self.held or self._releases or self._pauses):
                return
            if failures:
                # Backing off: neither the poll for waiting calls nor a wake cuts the wait
                # short, or a store that is away is asked many times a second.
                await self.clock.sleep(delay)
                continue
            if self.config.shared and self.waiting:
                delay = min(delay, self.config.poll_seconds)
            if self.held and self.config.shared:
                delay = min(delay, self.config.lease_seconds / 3)
            if self.waiting and (stalls_in := self._next_stall()) is not None:
                delay = min(delay, stalls_in)
            await self._sleep_or_wake(delay)

    def _after_failure(self, failures: int, least: float = 0.0) -> float:
        """How long to wait after `failures` failed rounds in a row (at least `least`), but
        not past a third of the leases of the slots held, which the next round renews."""
        delay = max(FLOW_LEDGER_POLICY.delay_before(failures, 0.0), least)
        if self.held and self.config.shared:
            delay = min(delay, self.config.lease_seconds / 3)
        return delay

    async def _round(self) -> Answer:
        releases, self._releases = self._releases, []
        pauses, self._pauses = self._pauses, {}
        budget = max(0, self.limit - self._counted_in_flight())
        round_ = Exchange(
            self.waiting.counts(), budget, releases, pauses, self.waiting.jobs_by_ask()
        )
        try:
            answer = await self._exchange(round_)
        except BaseException:
            self._releases = releases + self._releases
            self._pauses = pauses | self._pauses
            raise
        self.paused = answer.paused
        for slot in answer.granted:
            waiter = self.waiting.take((slot.organisation, slot.sub_step))
            if waiter is None:
                self._releases.append(slot)
                self._wake.set()
                continue
            self.held[slot.id] = slot
            self._held_for[slot.id] = waiter.job_id
            self._held_since[slot.id] = self.clock.monotonic()
            waiter.future.set_result(slot)
        self._publish()
        return answer

    def _counted_in_flight(self) -> int:
        """The calls in flight that the adaptive limit counts: not those stalled (a hung
        endpoint's, waiting out their timeout), which would otherwise hold every slot of a
        limit cut by their own timeouts and stop every other job's calls. They still count
        against the limit's maximum, and the ledger still counts every slot held."""
        if self.adaptive is None:
            return len(self.held)
        now, adaptive = self.clock.monotonic(), self.adaptive
        stalled = 0
        for slot_id, slot in self.held.items():
            after = adaptive.stalled_after(slot.sub_step)
            if after is not None and now - self._held_since.get(slot_id, now) >= after:
                stalled += 1
        return len(self.held) - stalled + max(0, stalled - (adaptive.maximum - self.limit))

    def _next_stall(self) -> float | None:
        """Seconds until the next call in flight counts as stalled (and frees a place in the
        limit for a waiting call), if one will."""
        if self.adaptive is None:
            return None
        now, found = self.clock.monotonic(), None
        for slot_id, slot in self.held.items():
            after = self.adaptive.stalled_after(slot.sub_step)
            if after is None:
                continue
            left = self._held_since.get(slot_id, now) + after - now
            if left > 0 and (found is None or left < found):
                found = left
        return found

    async def _exchange(self, round_: Exchange) -> Answer:
        if self._run is None:
            return self.ledger.exchange(round_)
        return await self._run(lambda: self.ledger.exchange(round_))

    async def _sleep_or_wake(self, seconds: float) -> None:
        if self._wake.is_set():
            return
        waiter = asyncio.ensure_future(self._wake.wait())
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        try:
            await asyncio.wait({waiter, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
            sleeper.cancel()

    def _publish(self) -> None:
        metrics.api_limit.set(self.limit)
        counts = self.waiting.by_organisation()
        for org in self._orgs_shown | set(counts):
            metrics.api_calls_waiting.labels(org).set(counts.get(org, 0))
        self._orgs_shown = {org for org, n in counts.items() if n}

    def describe(self) -> str:
        """The limits in force, in words, for the log at start-up."""
        config = self.config
        parts = [
            f"at most {config.max_in_flight} calls in flight across workers"
            if config.max_in_flight
            else f"adaptive limit (starts at {self.limit}, at most {config.local_max})",
        ]
        if config.rate_per_s:
            parts.append(f"{config.rate_per_s:g} calls/s across workers")
        parts += [f"{key} at most {n}" for key, n in config.limits.items()]
        shared = "shared through the database" if config.shared and self._run else "in this process"
        return f"{'; '.join(parts)} ({shared})"

    def serve_as(self, worker_id: str) -> None:
        """Take slots under `worker_id` from now on: this process's worker id changed."""
        self.ledger.serve_as(worker_id)

    def waiting_job_ids(self) -> set[str]:
        """Jobs with a call waiting for API capacity here."""
        return self.waiting.job_ids()

    def snapshot(self) -> dict[str, Any]:
        """The limit, calls in flight and waiting (by organisation), endpoints paused."""
        return {
            "limit": self.limit,
            "adaptive": self.adaptive is not None,
            "in_flight": len(self.held),
            "waiting": dict(self.waiting.by_organisation()),
            "paused": sorted(self.paused),
        }

    async def close(self) -> None:
        """Stop the pump and give back every slot still held."""
        if self._pump is not None:
            self._pump.cancel()
            await asyncio.gather(self._pump, return_exceptions=True)
        self._releases.extend(self.held.values())
        self.held.clear()
        try:
            await self._exchange(Exchange({}, 0, self._releases, {}))
        except FlowUnavailable as exc:
            log.warning("flow control: slots not given back (%s); their lease will expire", exc)
        self._releases = []
        self.ledger.close()
