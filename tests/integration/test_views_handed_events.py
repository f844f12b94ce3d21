"""Views fed the events this process just committed, unread, equal views that read the log.

The live runner applies a save of its own process from memory (the events as the command made
them) instead of reading and decrypting the rows it just wrote. That is only sound if the two
are the same to every view: secrets and personal data masked alike, results, reasons, refused
edits, cancellations, whatever names and values a request or the registration API brought.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, suppress
from typing import Any

import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from domain.exceptions import RegflowError
from infrastructure.recent_recordings import RecentRecordings
from infrastructure.usecases.registrations import Registrations
from projections.live.service import ReadModelService
from projections.offline.diff import read_rows
from tests.conftest import unique_org
from tests.integration.test_projections import views_of

SECRET_NAMES = ["token", "password", "apiKey", "client_secret", "email", "phone", "id", "url"]
names = st.one_of(st.sampled_from(SECRET_NAMES), st.text(min_size=1, max_size=12))
texts = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["Bearer abcdef123456", "sk_live_0123456789abcdef", "o@buzz.example"]),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
    max_leaves=8,
)
results = st.dictionaries(names, json_values, max_size=4)
configs = st.fixed_dictionaries(
    {"account": st.just({"email": "o@buzz.example", "password": "pw-123"})},
    optional={"notes": json_values, "restaurant": st.dictionaries(names, json_values, max_size=3)},
)
reasons = st.one_of(texts, st.just("redo: token=abc123abc123"))
edits = st.lists(
    st.tuples(
        st.sampled_from(["cloudwaitressAccount", "codeGeneration", "menuImport", "itemTags"]),
        st.sampled_from(["completed", "failed", "skipped", "pending"]),
        st.none() | results,
        reasons,
    ),
    max_size=4,
)


class Handed:
    """The store's recent recordings as one runner sees them, noting every id handed."""

    def __init__(self, inner: RecentRecordings) -> None:
        self.inner = inner
        self.ids: list[int] = []

    def after(self, position: int, limit: int, stop: int | None = None) -> list[Any]:
        handed = self.inner.after(position, limit, stop)
        self.ids.extend(r.notification.id for r in handed)
        return handed


@pytest.fixture
def other(settings) -> Iterator[Registrations]:
    """Another process's store on the same log: its events are never handed here."""
    with closing(Registrations(settings)) as store:
        yield store


@pytest.fixture
def both(settings, app) -> Iterator[tuple[ReadModelService, ReadModelService, Handed]]:
    """A service whose runner takes handed events, and one whose runner always reads."""
    with views_of(settings, app) as handed, views_of(settings, app) as reading:
        noted = Handed(app.recent)
        handed.runners[0].recent = noted  # type: ignore[assignment]
        reading.runners[0].recent = None
        yield handed, reading, noted


def rows(service: ReadModelService, view: str, keys: set[str]) -> dict[str, Any]:
    found = read_rows(service.db, service.schema, view)
    return {k: v for k, v in found.items() if k.split("#")[0] in keys}


def run(
    app: Registrations, other: Registrations, org: str, config: dict, result: dict, todo: list
) -> set[str]:
    """A batch of two: one driven to its end with `result`, the other edited by hand; another
    process's batches are created in between."""
    restaurants = [{"name": f"R{i}", "execution_config": config} for i in range(2)]
    try:
        batch, jobs, _ = app.create_batch(org, "user:u-1", "Week 48", restaurants)
    except RegflowError:
        reject()
    first, second = (str(j.id) for j in jobs)
    app.start_step6(None, str(batch.id), [first], "user:u-1")
    job = app.job(first)
    job.claim("worker-1")
    app.store(job)
    made = {str(batch.id), first, second}
    while job.runnable():
        for key in job.runnable():
            job.start_sub_step(key)
            job.complete_sub_step(key, dict(result))
        app.store(job)
        theirs, their_jobs, _ = other.create_batch(org, "user:u-9", "Theirs", restaurants[:1])
        made |= {str(theirs.id), *(str(j.id) for j in their_jobs)}
    job.finish()
    app.store(job)
    for key, status, typed, reason in todo:
        with suppress(RegflowError):  # a refused edit is recorded too: the views show it
            app.edit(org, second, [(key, status, typed)], "user:u-2", reason)
    with suppress(RegflowError):
        app.cancel(org, second, "user:u-2", "wrong menu")
    return made


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(config=configs, result=results, todo=edits)
def test_views_fed_from_memory_equal_views_that_read_the_log(
    app, other, both, config: dict, result: dict, todo: list
) -> None:
    handed, reading, noted = both
    handed.catch_up(), reading.catch_up()  # both at the head before this example's events
    head = handed.head()
    noted.ids.clear()
    keys = run(app, other, unique_org(), config, result, todo)
    handed.catch_up(), reading.catch_up()
    # This process's events were handed; the other process's were read from the log.
    assert noted.ids and set(noted.ids) < set(range(head + 1, handed.head() + 1))
    for view in ("job_progress", "job_timeline", "batch_summaries"):
        assert rows(handed, view, keys) == rows(reading, view, keys), view
    assert "pw-123" not in str(rows(handed, "job_progress", keys))
