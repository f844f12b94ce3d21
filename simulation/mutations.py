"""Engines with one guarantee deliberately broken: the simulation must catch each of them."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from infrastructure.engine.engine import Engine
from infrastructure.engine.messages import Answered
from infrastructure.engine.runner import JobRunner
from infrastructure.usecases.registrations import Registrations
from simulation.world import Variant


class NoAmbiguityCheck(Registrations):
    """Never looks whether a failed write was stored after all."""

    def was_stored(self, events: list[Any]) -> bool:
        return False


class StaleLeaseEngine(Engine):
    """Runs on, however long ago its lease was last confirmed."""

    lease_margin = float("inf")


class UnfencedRunner(JobRunner):
    """Carries on after losing its lease, and over another worker's claim."""

    def lose(self) -> None:
        return None

    @property
    def deadline(self) -> float:
        return float("inf")

    async def reload(self) -> None:
        self._job = await self._retrying(lambda: self.shared.gateway.load(self.job_id))


class OutageCountingRunner(JobRunner):
    """Counts attempts lost to an API outage against the sub-step."""

    def lost_to_outage(self, failed_transiently: bool) -> bool:
        return False


class UncalledCountingRunner(JobRunner):
    """Counts an attempt whose call was never sent (the store could not be read before it)
    against the sub-step, as a failed call."""

    def _record(self, answer: Answered) -> None:
        super()._record(replace(answer, outcome=replace(answer.outcome, made=True)))


MUTATIONS = {
    "skip-ambiguous-commit-check": Variant("skip-ambiguous-commit-check", store=NoAmbiguityCheck),
    "accept-stale-lease": Variant("accept-stale-lease", engine=StaleLeaseEngine),
    "drop-fencing": Variant("drop-fencing", runner=UnfencedRunner),
    "count-outage-attempts": Variant("count-outage-attempts", runner=OutageCountingRunner),
    "count-attempts-not-made": Variant("count-attempts-not-made", runner=UncalledCountingRunner),
}
