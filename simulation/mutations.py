"""Engines with one guarantee deliberately broken: the simulation must catch each of them."""

from __future__ import annotations

from typing import Any

from infrastructure.engine.engine import Engine
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


MUTATIONS = {
    "skip-ambiguous-commit-check": Variant("skip-ambiguous-commit-check", store=NoAmbiguityCheck),
    "accept-stale-lease": Variant("accept-stale-lease", engine=StaleLeaseEngine),
    "drop-fencing": Variant("drop-fencing", runner=UnfencedRunner),
    "count-outage-attempts": Variant("count-outage-attempts", runner=OutageCountingRunner),
}
