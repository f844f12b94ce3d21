"""A fake clock for flow control tests: time moves only when told or slept on."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta


class FakeClock:
    """The Clock port on made-up time: sleepers wake when the test moves time past them."""

    def __init__(self) -> None:
        self.t = 100.0
        self._moved: asyncio.Event | None = None

    def monotonic(self) -> float:
        return self.t

    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=self.t)

    async def sleep(self, seconds: float) -> None:
        deadline = self.t + seconds
        while self.t < deadline:
            if self._moved is None:
                self._moved = asyncio.Event()
            await self._moved.wait()

    def advance(self, seconds: float) -> None:
        self.t += seconds
        if self._moved is not None:
            self._moved.set()
            self._moved = None
