"""Batch rows and summaries: exact counters and the derived batch status."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.batch import RegistrationBatch
from projections.folds.batches import batch_row, batch_status, batch_summary


def row(total: int) -> dict:
    jobs = [{"id": str(uuid4()), "restaurant": {"name": f"R{i}"}} for i in range(total)]
    batch = RegistrationBatch.open("org-1", "Auckland week 48", jobs, "user:u-1")
    return batch_row(batch.collect_events()[0])


def test_a_batch_row_counts_its_jobs() -> None:
    created = row(3)
    assert (created["total"], created["name"], created["started"]) == (3, "Auckland week 48", False)
    assert created["organisation_id"] == "org-1"


@pytest.mark.parametrize(
    ("counts", "status"),
    [
        ({"pending": 3}, "pending"),
        ({"pending": 2, "in_progress": 1}, "in_progress"),
        ({"pending": 1, "completed": 2}, "in_progress"),
        ({"completed": 3}, "completed"),
        ({"completed": 2, "failed": 1}, "partially_completed"),
        ({"completed": 1, "cancelled": 2}, "partially_completed"),
        ({"failed": 2, "cancelled": 1}, "failed"),
        ({"pending": 2, "cancelled": 1}, "pending"),
        ({"pending": 1, "cancelled": 1, "in_progress": 1}, "in_progress"),
        ({"cancelled": 3}, "failed"),
    ],
)
def test_the_batch_status_follows_its_jobs(counts: dict[str, int], status: str) -> None:
    assert batch_status(counts, 3) == status


@pytest.mark.parametrize(
    ("counts", "status"),
    [
        ({"cancelled": 3}, "pending"),  # every job cancelled before any start: none has run
        ({"pending": 2, "cancelled": 1}, "pending"),
        ({"cancelled": 2, "in_progress": 1}, "in_progress"),  # one started by its resume
        ({"cancelled": 2, "completed": 1}, "partially_completed"),
        ({"cancelled": 2, "failed": 1}, "failed"),
    ],
)
def test_a_batch_never_started_is_pending_until_a_job_runs(
    counts: dict[str, int], status: str
) -> None:
    assert batch_status(counts, 3, started=False) == status


def test_the_summary_of_a_batch_never_started_whose_jobs_were_all_cancelled_is_pending() -> None:
    assert batch_summary(row(2), {"cancelled": 2})["status"] == "pending"
    assert batch_summary(row(2) | {"started": True}, {"cancelled": 2})["status"] == "failed"


def test_the_summary_matches_the_frontends_progress_example() -> None:
    summary = batch_summary(row(10), {"completed": 7, "failed": 1, "in_progress": 2})
    assert {k: summary[k] for k in ("total", "completed", "failed", "in_progress")} == {
        "total": 10, "completed": 7, "failed": 1, "in_progress": 2,
    }  # fmt: skip
    assert (summary["pending"], summary["percent"], summary["status"]) == (0, 80, "in_progress")


def test_jobs_not_yet_shown_count_as_pending() -> None:
    summary = batch_summary(row(4), {"completed": 1})
    assert (summary["pending"], summary["percent"]) == (3, 25)
