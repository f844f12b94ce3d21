"""Property: a dry run answers what the edit would leave, the job's status included, for a job
in whatever state a legal run of commands left it; and it records nothing."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.exceptions import RegflowError
from domain.job import RegistrationJob
from domain.plan import PLAN
from infrastructure.settings import Settings
from infrastructure.usecases.editing import NEEDS_REASON
from infrastructure.usecases.registrations import Registrations
from tests.unit.jobs import EDIT_TARGETS, new_job, try_chosen_command

_STORE = Registrations(
    Settings(
        _env_file=None,
        database_url=f"sqlite:///{Path(tempfile.mkdtemp()) / 'dry-run.db'}",
        secret_key="property-test",
    )
)
EDITS = st.lists(
    st.tuples(st.sampled_from(PLAN.keys), st.sampled_from(EDIT_TARGETS)), min_size=1, max_size=3
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(st.none(), st.sampled_from(PLAN.keys)),
    st.lists(st.integers(min_value=0, max_value=10_000), max_size=6),
    EDITS,
)
def test_a_dry_run_answers_the_job_status_the_edit_leaves(
    failing: str | None, choices: list[int], picks: list[tuple[str, str]]
) -> None:
    job = new_job()
    job.start_step6("user:u-1")
    run_to_the_end(job, failing)
    for choice in choices:
        try_chosen_command(job, choice)
    _STORE.store(job)
    edits = [(key, target, None) for key, target in picks]
    try:
        dry = _STORE.edit(None, job.id, edits, "user:u-1", "", dry_run=True)
    except RegflowError as refusal:
        assert _STORE.job(job.id).version == job.version, "a refused dry run recorded something"
        with pytest.raises(type(refusal)):
            _STORE.edit(None, job.id, edits, "user:u-1", "by hand")
        return
    assert _STORE.job(job.id).version == job.version, "a dry run recorded something"
    real = _STORE.edit(None, job.id, edits, "user:u-1", "by hand")
    assert str(dry.job_status) == str(real.job_status)
    # Sent without a reason, the dry run also says the edit needs one; else it is the edit's.
    first, *rest = real.checks
    told = [replace(first, warnings=[*first.warnings, NEEDS_REASON]), *rest]
    assert dry.checks == told


def run_to_the_end(job: RegistrationJob, failing: str | None) -> None:
    """A worker runs the job until it stops: completed, or failed at `failing` for good."""
    job.claim("worker-1")
    while ready := job.runnable():
        job.start_sub_step(ready[0])
        if ready[0] == failing:
            job.fail_sub_step(ready[0], "HTTP 400: refused", transient=False)
        else:
            job.complete_sub_step(ready[0], {"id": ready[0]})
    job.finish()
