"""What `batch run` shows: the console's words, rounded waits, only the jobs that need an eye."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from api.cli.run_display import ORDER, doing, needs_an_eye, words
from tests.unit.jobs import PHASE1, running_job, succeed


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
