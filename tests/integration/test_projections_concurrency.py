"""Many writers at once: batch counters stay equal to the jobs' final statuses."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.conftest import unique_org
from tests.integration.test_projections import drive, new_batch, views_of

JOBS = 100


def test_100_jobs_finishing_concurrently_leave_exact_batch_counters(settings, app) -> None:
    batch_id, jobs = new_batch(app, unique_org(), JOBS)
    app.start_step6(None, batch_id, None, "user:u-1")
    with views_of(settings, app, start=True) as views:
        with ThreadPoolExecutor(max_workers=20) as pool:
            outcomes = list(pool.map(lambda i: _run(app, jobs, i), range(JOBS)))
        assert views.wait_for(int(app.recorder.max_notification_id()), timeout=300)
        summary = views.batch_summary(batch_id)
        final = Counter(str(app.job(j).status) for j in jobs)
        assert final == Counter(outcomes)
        assert (summary["completed"], summary["failed"]) == (final["completed"], final["failed"])
        assert (summary["in_progress"], summary["pending"], summary["total"]) == (0, 0, JOBS)
        assert summary["status"] == "partially_completed"
        shown = Counter(j["status"] for j in views.job_summaries(batch_id))
        assert shown == final


def _run(app, jobs: list[str], index: int) -> str:
    return drive(app, jobs[index], fail="websiteConfig" if index % 4 == 0 else None)
