"""Fair shares of free call slots: the waiting organisation holding fewest slots goes next."""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

UNCAPPED = 1 << 30
Ask = tuple[str, str]
"""(organisation, sub-step): what a waiting call asks for."""


@dataclass(frozen=True)
class Shares:
    """What is held and waited for, across every worker that shares the slots."""

    free: int
    held_by_org: Mapping[str, int] = field(default_factory=dict)
    held_by_step: Mapping[str, int] = field(default_factory=dict)
    step_caps: Mapping[str, int] = field(default_factory=dict)
    others_waiting: Mapping[Ask, int] = field(default_factory=dict)
    last_served: Mapping[str, float] = field(default_factory=dict)
    paused: Collection[str] = ()


def allocate(shares: Shares, mine: Mapping[Ask, int], budget: int) -> list[Ask]:
    """The slots this worker may take now, in order, for its waiting calls `mine`.

    Max-min fairness by organisation: each free slot goes to the waiting organisation that
    holds the fewest (ties: the one served longest ago), whichever worker its call waits in.
    A slot given to another worker's call is left for that worker, so an organisation whose
    calls wait elsewhere is not starved by this worker's own queue.
    """
    held_org, held_step = Counter(shares.held_by_org), Counter(shares.held_by_step)
    served = dict(shares.last_served)
    left_mine, left_others = Counter(mine), Counter(shares.others_waiting)
    # The asks still waiting, here or elsewhere, kept as slots are given (not derived afresh
    # from the two counters for every slot: that was most of a round's time).
    waiting = {a for a, n in left_mine.items() if n > 0}
    waiting |= {a for a, n in left_others.items() if n > 0}
    caps, paused = shares.step_caps, shares.paused
    grants: list[Ask] = []
    tick = max(served.values(), default=0.0)
    for _ in range(max(0, shares.free)):
        if len(grants) >= budget:
            break
        candidates = [
            ask
            for ask in waiting
            if ask[1] not in paused and held_step[ask[1]] < caps.get(ask[1], UNCAPPED)
        ]
        if not candidates or not any(left_mine[a] > 0 for a in candidates):
            break
        ask = org, step = min(
            candidates,
            key=lambda a: (held_org[a[0]], served.get(a[0], float("-inf")), held_step[a[1]], a),
        )
        held_org[org] += 1
        held_step[step] += 1
        tick += 1.0
        served[org] = tick
        if left_mine[ask] > 0:
            left_mine[ask] -= 1
            grants.append(ask)
        else:
            left_others[ask] -= 1
        if left_mine[ask] <= 0 and left_others[ask] <= 0:
            waiting.discard(ask)
    return grants


class Waiter:
    """One call waiting for a slot."""

    def __init__(self, organisation: str, sub_step: str, job_id: str) -> None:
        self.ask: Ask = (organisation, sub_step)
        self.job_id = job_id
        self.future: asyncio.Future[object] = asyncio.get_running_loop().create_future()


class WaitingCalls:
    """The calls of this process waiting for a slot, first come first served per ask."""

    def __init__(self) -> None:
        self._queues: dict[Ask, deque[Waiter]] = {}

    def push(self, waiter: Waiter) -> None:
        self._queues.setdefault(waiter.ask, deque()).append(waiter)

    def remove(self, waiter: Waiter) -> None:
        queue = self._queues.get(waiter.ask)
        if queue is not None and waiter in queue:
            queue.remove(waiter)
            if not queue:
                del self._queues[waiter.ask]

    def take(self, ask: Ask) -> Waiter | None:
        """The oldest live waiter for `ask`, removed from the queue."""
        queue = self._queues.get(ask)
        while queue:
            waiter = queue.popleft()
            if not queue:
                del self._queues[ask]
            if not waiter.future.done():
                return waiter
        return None

    def counts(self) -> Counter[Ask]:
        return Counter({ask: len(q) for ask, q in self._queues.items() if q})

    def by_organisation(self) -> Counter[str]:
        counted: Counter[str] = Counter()
        for (org, _), queue in self._queues.items():
            counted[org] += len(queue)
        return counted

    def job_ids(self) -> set[str]:
        return {w.job_id for queue in self._queues.values() for w in queue}

    def jobs_by_ask(self) -> dict[Ask, tuple[str, ...]]:
        """The jobs of the calls still waiting, by ask, in the order slots go to them."""
        return {
            ask: tuple(w.job_id for w in queue if not w.future.done())
            for ask, queue in self._queues.items()
        }

    def __len__(self) -> int:
        return sum(len(q) for q in self._queues.values())
