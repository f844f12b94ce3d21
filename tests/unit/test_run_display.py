"""What `batch run` shows: the console's words, rounded waits, only the jobs that need an eye."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from types import SimpleNamespace
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console

from api.cli.run_display import ORDER, doing, final_table, needs_an_eye, summary, words
from domain.job import RegistrationJob
from tests.unit.jobs import FULL_CONFIG, PHASE1, fail, running_job, succeed


def test_counts_are_said_in_the_console_s_words() -> None:
    assert words(Counter({"skipped": 4, "completed": 8})) == "8 completed, 4 skipped"
    assert words({"in_progress": 1, "failed": 0}) == "1 in progress"
    assert words({}) == "nothing"


@given(st.dictionaries(st.sampled_from([*ORDER, "cancelled"]), st.integers(0, 50)))
def test_every_nonzero_count_is_said_once_in_a_fixed_order(counts: dict[str, int]) -> None:
    said = words(counts)
    parts = [] if said == "nothing" else said.split(", ")
    assert len(parts) == sum(1 for n in counts.values() if n)
    assert sorted(parts) == sorted(f"{n} {k.replace('_', ' ')}" for k, n in counts.items() if n)


def test_a_running_job_says_what_runs_and_an_idle_one_nothing() -> None:
    job = running_job()
    succeed(job, *PHASE1)
    job.start_sub_step("restaurantRegistration")
    assert doing(job) == "running restaurantRegistration" and needs_an_eye(job)
    job.complete_sub_step("restaurantRegistration", {})
    assert doing(job) == "" and not needs_an_eye(job), "nothing runs, nothing failed"


def test_a_wait_is_rounded_to_a_tenth_of_a_second() -> None:
    job = running_job()
    job.start_sub_step("cloudwaitressAccount")
    job.schedule_retry("cloudwaitressAccount", "HTTP 503", 1.73205)
    retry_at = job.sub_steps["cloudwaitressAccount"].retry_at
    assert retry_at is not None
    assert doing(job, retry_at - timedelta(seconds=1.73205)) == (
        "retrying cloudwaitressAccount in 1.7 s"
    )


def test_a_credential_in_a_name_or_an_error_is_masked_in_the_table_and_the_summary() -> None:
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTEifQ.c2lnbmF0dXJl"
    restaurant = {"name": "Buzz Bearer sk_live_NAME12345"}
    job = RegistrationJob.register(uuid4(), "org-1", restaurant, FULL_CONFIG, "user:u-1")
    job.start_step6("user:u-1")
    job.claim("worker-1")
    fail(job, "cloudwaitressAccount", f"HTTP 401: {jwt} refused")
    out = Console(record=True, width=400)
    out.print(final_table([job], full_ids=True))
    batch = SimpleNamespace(id=uuid4(), name="week 48 Bearer sk_live_BATCH12345")
    shown = out.export_text() + json.dumps(summary(batch, "org-1", [job], 1.0, True))
    assert [s for s in ("sk_live_NAME12345", "sk_live_BATCH12345", jwt) if s in shown] == []
    assert "Buzz ***" in shown and "HTTP 401: *** refused" in shown
