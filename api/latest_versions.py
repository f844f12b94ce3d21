"""Jobs' latest versions in the log, asked for by many concurrent reads in one query.

A kept answer of GET /jobs/{id} is sent only when the log holds no newer version of the job:
whatever the views' runner has or has not applied, and whichever process recorded the change.
Reads that ask at the same time share one query: each waits for a query begun after it asked
(so it sees every event stored before), and every read that asks while a query runs shares
the next one. At 50 clients that is one round trip per few reads, not one per read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from uuid import UUID

ReadVersions = Callable[[list[UUID]], Awaitable[dict[UUID, int]]]


class LatestVersions:
    """Looks up aggregates' latest versions in the log, many lookups to a query."""

    def __init__(self, read: ReadVersions, close: Callable[[], Awaitable[None]] | None = None):
        self._read = read
        self._close = close
        self._asked: dict[UUID, list[asyncio.Future[int | None]]] = {}
        self._task: asyncio.Task[None] | None = None

    async def of(self, aggregate_id: UUID) -> int | None:
        """The aggregate's latest version as a query begun after this call reads it (None: it
        has no events)."""
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._asked.setdefault(aggregate_id, []).append(future)
        if self._task is None:
            self._task = asyncio.ensure_future(self._serve())
        return await future

    async def close(self) -> None:
        """Let go of what the lookups read with (a connection of their own, if any)."""
        if self._close is not None:
            await self._close()

    async def _serve(self) -> None:
        """Ask for everything asked so far in one query, and again while more was asked."""
        try:
            while self._asked:
                asked, self._asked = self._asked, {}
                try:
                    found = await self._read(list(asked))
                except Exception as exc:  # each read that asked fails as its own query would
                    for _, future in _waiting(asked):
                        future.set_exception(exc)
                    continue
                for key, future in _waiting(asked):
                    future.set_result(found.get(key))
        finally:
            self._task = None


def _waiting(
    asked: dict[UUID, list[asyncio.Future[int | None]]],
) -> Iterator[tuple[UUID, asyncio.Future[int | None]]]:
    """Each lookup still waiting (not one whose client went away), with its aggregate."""
    for key, futures in asked.items():
        for future in futures:
            if not future.done():
                yield key, future
