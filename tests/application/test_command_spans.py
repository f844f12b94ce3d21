"""A command's span names the organisation and batch of what it loaded, however it was called."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from domain.exceptions import JobNotFound
from infrastructure.usecases.registrations import Registrations
from tests.conftest import unique_org
from tests.kit import restaurants

Command = Callable[[Registrations, str | None, str], object]

# Each job command as the CLI calls it (no organisation: an operator's command for any) and
# as the API does (the caller's organisation), on a job whose Step 6 was started; all but a
# cancel on the job stopped by a cancel, so that the command applies.
COMMANDS: dict[str, Command] = {
    "edit": lambda app, org, job: app.edit(
        org, job, [("menuImport", "skipped", None)], "cli:ops", "by hand"
    ),
    "cancel": lambda app, org, job: app.cancel(org, job, "cli:ops", "not wanted"),
    "resume": lambda app, org, job: app.resume(org, job, "cli:ops", "go on", dry_run=True),
}


def a_job(app: Registrations, spans: InMemorySpanExporter, name: str) -> tuple[str, str, str]:
    """(organisation, batch, job) of a new batch of one job ready for the command `name`;
    the spans of making it are cleared."""
    org = unique_org()
    batch, [job], _ = app.create_batch(org, "user:test", "spans", restaurants(1))
    app.start_step6(org, batch.id, None, "user:test")
    if name != "cancel":
        app.cancel(org, job.id, "user:test", "stopped to be repaired")
    spans.clear()
    return org, str(batch.id), str(job.id)


def attributes_of(spans: InMemorySpanExporter, name: str) -> dict[str, Any]:
    [span] = [s for s in spans.get_finished_spans() if s.name == f"regflow.{name}"]
    return dict(span.attributes or {})


@pytest.mark.parametrize("name", sorted(COMMANDS))
@pytest.mark.parametrize("given", [False, True], ids=["cli", "api"])
def test_a_job_command_is_traced_with_the_jobs_organisation_and_batch(
    app: Registrations, spans: InMemorySpanExporter, name: str, given: bool
) -> None:
    org, batch, job = a_job(app, spans, name)
    COMMANDS[name](app, org if given else None, job)
    assert attributes_of(spans, name) == {
        "regflow.organisation_id": org,
        "regflow.batch_id": batch,
        "regflow.job_id": job,
    }


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_command_refused_for_another_organisation_names_nothing_of_the_job(
    app: Registrations, spans: InMemorySpanExporter, name: str
) -> None:
    _, batch, job = a_job(app, spans, name)
    with pytest.raises(JobNotFound):
        COMMANDS[name](app, "org-stranger", job)
    shown = attributes_of(spans, name)
    assert shown == {
        "regflow.organisation_id": "org-stranger",
        "regflow.job_id": job,
        "error.type": "JobNotFound",
    }
    assert batch not in shown.values()


def test_with_tracing_off_a_command_loads_as_before(app: Registrations) -> None:
    org = unique_org()
    batch, [made], _ = app.create_batch(org, "user:test", "spans", restaurants(1))
    job = str(made.id)
    COMMANDS["edit"](app, None, job)
    assert app.job(job, org).sub_steps["menuImport"].status == "skipped"
