"""Calls of one job's sub-steps: waiting for a slot and the circuit, calling, reporting back."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from functools import partial
from typing import Any

from domain.failures import Failure
from domain.job import RegistrationJob
from domain.plan import PLAN
from domain.secrets import contains_erased
from infrastructure import metrics
from infrastructure.engine.messages import Answered, Broke, Granted, Mailbox
from infrastructure.engine.shared import Shared
from infrastructure.errors import classify_exception
from infrastructure.executors.payloads import build_payload
from infrastructure.executors.port import ERASED_DATA_CALL, CallOutcome, SubStepCall
from infrastructure.flow.ledger import Slot


class CallLauncher:
    """The permits asked for and the calls in flight of one job."""

    def __init__(self, shared: Shared, inbox: Mailbox, job_id: str = "") -> None:
        self.shared = shared
        self.inbox = inbox
        self.job_id = job_id
        self.slots: dict[str, Slot] = {}
        self.permits: dict[str, asyncio.Task[None]] = {}
        self.calls: dict[str, asyncio.Task[None]] = {}
        self.at_circuit: set[str] = set()  # permits held back by the circuit (an outage)

    @property
    def held_back(self) -> bool:
        """No call in flight, and every permit asked for waits for the circuit to let it go."""
        return not self.calls and self.at_circuit.issuperset(self.permits)

    def busy(self, key: str) -> bool:
        """Whether `key` is waiting for a slot or being called."""
        return key in self.permits or key in self.calls

    def request(self, key: str, organisation: str = "") -> None:
        """Ask for a call slot for `key`; a Granted message follows."""
        self.permits[key] = asyncio.create_task(self._permit(key, organisation))

    async def _permit(self, key: str, organisation: str) -> None:
        self.at_circuit.add(key)
        try:
            probe = await self.shared.circuit.permit(key)
        finally:
            self.at_circuit.discard(key)
        try:
            self.slots[key] = await self.shared.flow.acquire(organisation, key, self.job_id)
        except asyncio.CancelledError:
            self.shared.circuit.abandon(probe)
            raise
        self.inbox.put_nowait(Granted(key, probe))

    def granted(self, key: str) -> None:
        self.permits.pop(key, None)

    def release(self, granted: Granted) -> None:
        """Give back a slot that was not used."""
        self._free(granted.key)
        self.shared.circuit.abandon(granted.probe)

    def _free(self, key: str, outcome: CallOutcome | None = None, seconds: float = 0.0) -> None:
        slot = self.slots.pop(key, None)
        if slot is not None:
            self.shared.flow.release(slot, outcome, seconds)

    def launch(
        self,
        job: RegistrationJob,
        granted: Granted,
        traceparent: str | None = None,
        read_at: float = float("-inf"),
    ) -> None:
        """Call the registration API for `granted.key`, as the job read at `read_at` stands."""
        key = granted.key
        state = job.sub_steps[key]
        policy = self.shared.policy(key)
        call = SubStepCall(
            job_id=str(job.id),
            organisation_id=job.organisation_id,
            sub_step=key,
            endpoint=PLAN.sub_step(key).endpoint,
            idempotency_key=job.idempotency_key(key),
            attempt=state.attempts,
            payload=payload_of(job, key),
            timeout=policy.timeout,
            traceparent=traceparent,
        )
        task = asyncio.create_task(self._call(call, granted.probe, read_at))
        task.add_done_callback(partial(self._ended, key, self.slots.get(key), granted.probe))
        self.calls[key] = task

    def _ended(self, key: str, slot: Slot | None, probe: bool, task: asyncio.Task[None]) -> None:
        """However a call ends, its slot and probe go back: a task cancelled before it began
        never runs the coroutine's own clean-up."""
        if task.cancelled():
            self.shared.circuit.abandon(probe)
        if slot is not None and self.slots.get(key) is slot:
            self._free(key)

    async def _call(self, call: SubStepCall, probe: bool, read_at: float) -> None:
        started = self.shared.clock.monotonic()
        self.shared.calls_in_flight += 1
        metrics.calls_in_flight.inc()
        outcome = None
        try:
            outcome = await self._outcome(call, read_at)
        except Exception as exc:
            self.shared.circuit.abandon(probe)
            self.inbox.put_nowait(Broke(exc))
            return
        finally:
            told = outcome if outcome is not None and outcome.made else None
            self._free(call.sub_step, told, self.shared.clock.monotonic() - started)
            self.shared.calls_in_flight -= 1
            metrics.calls_in_flight.dec()
        self.inbox.put_nowait(
            Answered(call.sub_step, outcome, probe, self.shared.clock.monotonic() - started)
        )

    async def _outcome(self, call: SubStepCall, read_at: float) -> CallOutcome:
        """What the attempt came to. A transient error reading the store before the call is
        an attempt not made (the API was not asked, so it does not count against the
        policy); one during the call, the call's failure. An error that is not transient is
        raised: a bug."""
        try:
            leaving = await self._unless_erased(call, read_at)
        except Exception as exc:
            failure = transient_failure(exc)
            return CallOutcome(
                ok=False,
                error=f"not called: the store could not be read just before ({failure.message})",
                transient=True,
                made=False,
            )
        if leaving is None:
            return ERASED_DATA_CALL
        try:
            return await self.shared.executor.call(leaving)
        except Exception as exc:
            failure = transient_failure(exc)
            return CallOutcome(
                ok=False, error=failure.message, transient=True, status=failure.status
            )

    async def _unless_erased(self, call: SubStepCall, read_at: float) -> SubStepCall | None:
        """The call as it may leave, or None when it carries erased data. When the job's
        organisation was erased since the job in memory was read, that data must not leave:
        the call is built again from the job as stored now (an HTTP executor refuses any call
        that carries erased data, whichever way it was built)."""
        if await self.shared.erasures.erased_since(call.organisation_id, read_at):
            call = await self._as_stored_now(call)
            if contains_erased(call.payload):
                return None
        return call

    async def _as_stored_now(self, call: SubStepCall) -> SubStepCall:
        """The call with its payload from the job read now, after this process learned of the
        erasure and forgot its cached keys: data sealed under an erased key reads as erased,
        and data given since (a batch made after the erasure, under the organisation's new
        key) as it is. The erasure is only known to have been committed before the look that
        noticed it, so a job read between the two may hold either."""
        stored = await self.shared.gateway.load(call.job_id)
        return replace(call, payload=payload_of(stored, call.sub_step))

    def answered(self, key: str) -> None:
        self.calls.pop(key, None)

    def cancel_permits(self) -> None:
        """Stop waiting for slots; slots already granted are given back."""
        for task in self.permits.values():
            task.cancel()
        self.permits.clear()

    def cancel_all(self) -> None:
        """Stop everything of this job: permits, calls, and granted slots still queued."""
        self.cancel_permits()
        for task in self.calls.values():
            task.cancel()
        self.calls.clear()
        while not self.inbox.empty():
            message = self.inbox.get_nowait()
            if isinstance(message, Granted):
                self.release(message)


def transient_failure(exc: Exception) -> Failure:
    """How a transient error reads; an error that is not transient is raised again."""
    failure = classify_exception(exc)
    if not failure.transient:
        raise exc
    return failure


def payload_of(job: RegistrationJob, key: str) -> dict[str, Any]:
    """What the call of sub-step `key` sends, from the job as it stands."""
    return build_payload(key, job.restaurant, job.execution_config, job.context)
