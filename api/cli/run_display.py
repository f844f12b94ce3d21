"""What `regflow batch run` shows: a live table of the jobs that need an eye, and a summary.

The words are the console's: "8 completed, 4 skipped", "retrying menuImport in 2.0 s".
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from rich.table import Table

from api.cli.output import SHORT_ID, add_id_column, cells
from domain.job import RegistrationJob
from domain.secrets import redact

ORDER = ("completed", "skipped", "in_progress", "retrying", "pending", "blocked", "failed")


def words(counts: Counter[str] | dict[str, int]) -> str:
    """ "8 completed, 4 skipped": counts in a fixed order, statuses spelled as words."""
    known = [k for k in ORDER if counts.get(k)]
    rest = sorted(k for k in counts if k not in ORDER and counts[k])
    return ", ".join(f"{counts[k]} {k.replace('_', ' ')}" for k in (*known, *rest)) or "nothing"


def sub_step_words(job: RegistrationJob) -> str:
    return words(Counter(job.shown_statuses().values()))


def doing(job: RegistrationJob, now: datetime | None = None) -> str:
    """What a job is doing now: the sub-steps running, those waiting to retry, its error."""
    now = now or datetime.now(UTC)
    parts = [f"running {k}" for k in job.in_flight()]
    for key in job.waiting_to_retry():
        retry_at = job.sub_steps[key].retry_at
        wait = max(0.0, (retry_at - now).total_seconds()) if retry_at else 0.0
        parts.append(f"retrying {key} in {wait:.1f} s")
    if str(job.status) == "failed" and job.last_error:
        parts.append(job.last_error)
    return "; ".join(parts)


def needs_an_eye(job: RegistrationJob) -> bool:
    """Running, waiting to retry, or failed: the jobs the live display lists."""
    return bool(job.in_flight() or job.waiting_to_retry()) or str(job.status) == "failed"


def live_table(jobs: list[RegistrationJob], elapsed: float, engine: dict[str, Any]) -> Table:
    """The live display: elapsed time, jobs by status, a row per job running/retrying/failed."""
    statuses = words(Counter(str(j.status) for j in jobs))
    table = Table(
        title=f"Step 6 · {elapsed:.0f} s elapsed · {len(jobs)} jobs: {statuses}",
        caption=f"calls in flight {engine['calls_in_flight']} · circuit {engine['circuit']}",
    )
    table.add_column("restaurant")
    add_id_column(table, "job")
    for column in ("status", "sub-steps", "now"):
        table.add_column(column)
    for job in (j for j in jobs if needs_an_eye(j)):
        table.add_row(
            *cells(
                job.restaurant.get("name"),
                str(job.id)[:SHORT_ID],
                str(job.status).replace("_", " "),
                sub_step_words(job),
                doing(job),
            )
        )
    return table


def final_table(jobs: list[RegistrationJob], full_ids: bool = False) -> Table:
    """One row per job: restaurant, id, status, sub-steps in words, failed sub-steps, error."""
    table = Table(title="Step 6 results")
    table.add_column("restaurant")
    add_id_column(table, "job")
    for column in ("status", "sub-steps", "failed", "error"):
        table.add_column(column)
    for job in jobs:
        failed = [k for k, s in job.shown_statuses().items() if s == "failed"]
        table.add_row(
            *cells(
                job.restaurant.get("name"),
                str(job.id) if full_ids else str(job.id)[:SHORT_ID],
                str(job.status).replace("_", " "),
                sub_step_words(job),
                ", ".join(failed) or "-",
                job.last_error or "",
            )
        )
    return table


def summary(
    batch: Any, organisation: str, jobs: list[RegistrationJob], elapsed: float, finished: bool
) -> dict[str, Any]:
    """The final summary `--json` prints, every value as it may be shown."""
    shown = {
        "batch_id": str(batch.id),
        "name": batch.name,
        "organisation": organisation,
        "finished": finished,
        "elapsed_seconds": round(elapsed, 1),
        "jobs": dict(Counter(str(j.status) for j in jobs)),
        "job_ids": [str(j.id) for j in jobs],
        "results": [
            {
                "job_id": str(j.id),
                "restaurant": j.restaurant.get("name"),
                "status": str(j.status),
                "sub_steps": dict(Counter(j.shown_statuses().values())),
                "last_error": j.last_error,
            }
            for j in jobs
        ],
    }
    return dict(redact(shown))
