"""The in-process registration API both engines call in the benchmarks: same answers, same latency.

Answers every call after REGFLOW_BENCH_API_LATENCY_MS (0: one turn of the event loop), and
gives back the answer stored under the call's idempotency key, as the simulator does.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

LATENCY_S = float(os.environ.get("REGFLOW_BENCH_API_LATENCY_MS", "0")) / 1000


class FakeAPI:
    """Stores one answer per idempotency key and answers after the configured latency."""

    def __init__(self, latency_s: float = LATENCY_S) -> None:
        self.latency_s = latency_s
        self.answers: dict[str, dict[str, Any]] = {}

    async def answer(self, idempotency_key: str) -> dict[str, Any]:
        await asyncio.sleep(self.latency_s)
        return self.answers.setdefault(idempotency_key, {"id": idempotency_key})
