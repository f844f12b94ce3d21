"""Erasures seen by a running engine: a job holds its organisation's data in memory from the
moment it was read, so once the organisation is erased after that moment, none of the job's
calls is made with what it holds: the call is built again from the job read afresh, where data
under an erased key reads as erased (and the call is not made) and data given since, under the
organisation's new key, reads as it is.

A call asks only when the last look at the key table began at most ERASURE_CHECK_SECONDS ago,
so a call begun KEY_CACHE_SECONDS after an erasure committed knows of it; `erase-organisation`
returns no sooner than that.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from infrastructure.engine.clock import Clock
from infrastructure.errors import is_transient_exception
from infrastructure.keys.ring import KEY_CACHE_SECONDS

ERASURE_CHECK_SECONDS = KEY_CACHE_SECONDS / 2
NEVER = float("-inf")
log = logging.getLogger("regflow.engine")


class ErasureWatch:
    """Which organisations' data keys this process saw destroyed, and when it first saw it."""

    def __init__(
        self,
        destroyed: Callable[[], Awaitable[Mapping[str, int]]],
        forget_keys: Callable[[], None],
        clock: Clock,
    ) -> None:
        self._destroyed = destroyed
        self._forget_keys = forget_keys
        self._clock = clock
        self._counts: Mapping[str, int] | None = None
        self._noticed: dict[str, float] = {}
        self._looked_at = NEVER  # when the last look that succeeded began
        self._looking = asyncio.Lock()

    async def start(self) -> None:
        """The first look, before any job is read: erasures before it are no news to a job.
        When the store cannot answer yet, the first look a call makes takes its place, and
        takes every erasure it finds for news: a job read before it calls for none of them."""
        async with self._looking:
            began = self._clock.monotonic()
            try:
                self._counts = await self._destroyed()
            except Exception as exc:
                if not is_transient_exception(exc):
                    raise
                log.warning("could not look for erased organisations yet: %s", exc)
                return
            self._looked_at = began

    async def erased_since(self, organisation_id: str, moment: float) -> bool:
        """Whether the organisation was erased after `moment` (monotonic), or may have been."""
        async with self._looking:
            if self._clock.monotonic() - self._looked_at >= ERASURE_CHECK_SECONDS:
                await self._look()
        return self._noticed.get(organisation_id, NEVER) > moment

    async def _look(self) -> None:
        began = self._clock.monotonic()
        counts = await self._destroyed()
        ended = self._clock.monotonic()
        earlier = self._counts
        news = [o for o, n in counts.items() if earlier is None or n > earlier.get(o, 0)]
        if news:
            self._forget_keys()
        for organisation_id in news:
            self._noticed[organisation_id] = ended
        self._counts, self._looked_at = counts, began
