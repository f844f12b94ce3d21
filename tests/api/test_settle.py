"""Read-your-writes waits: while the views run here, a wait holds no pool thread."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

from api.services import SERVICES
from tests.api.conftest import Caller, Client


class TestSettle:
    async def test_waits_for_the_views_without_a_pool_thread(
        self, org_a: Caller, client: Client
    ) -> None:
        services = client.app[SERVICES]
        job_id = await org_a.started_job()
        job = services.app.job(job_id)
        job.cancel("user:u-1", "settle test")
        saved = services.app.store(job)
        busy, release = ThreadPoolExecutor(1), threading.Event()
        services.pool, pool = busy, services.pool
        try:
            busy.submit(release.wait, 10)  # the only thread is taken
            await asyncio.wait_for(services.settle(saved.position), 5)
            view = services.views.job_progress(job.id)
            assert view is not None and view["version"] == saved.version
        finally:
            release.set()
            services.pool = pool
            busy.shutdown()
