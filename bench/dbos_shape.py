"""The Step 6 job shape as a DBOS Transact workflow: 4 concurrent steps, 1, 5 concurrent, 2."""

from __future__ import annotations

import asyncio
import time
from typing import Any

SHAPE = (4, 1, 5, 2)


def run_dbos(url: str, jobs: int) -> dict[str, Any]:
    """Run `jobs` workflows of the Step 6 shape on DBOS with its system database at `url`."""
    from dbos import DBOS

    DBOS(config={"name": "regflow-bench", "system_database_url": url, "log_level": "WARNING"})

    @DBOS.step()
    async def sub_step(job: int, index: int) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"job": job, "step": index}

    @DBOS.workflow()
    async def step6(job: int) -> int:
        index = 0
        for width in SHAPE:
            await asyncio.gather(*(sub_step(job, index + i) for i in range(width)))
            index += width
        return index

    async def run_all() -> float:
        started = time.perf_counter()
        handles = [await DBOS.start_workflow_async(step6, job) for job in range(jobs)]
        for handle in handles:
            await handle.get_result()
        return time.perf_counter() - started

    DBOS.launch()
    try:
        elapsed = asyncio.run(run_all())
    finally:
        DBOS.destroy()
    return {
        "seconds": elapsed,
        "jobs_per_s": jobs / elapsed,
        "sub_steps_per_s": jobs * 12 / elapsed,
    }
