"""What the API refuses in text, every caller of the use-case layer is refused (the CLI as
well): a NUL anywhere in a batch, a name or reason over its limit, a reason that is not text.
A refusal creates nothing and changes no job; a refused edit is audited with its reason as it
can be recorded."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.exceptions import InvalidInput
from domain.limits import MAX_NAME, MAX_REASON
from infrastructure.usecases.registrations import Registrations
from tests.conftest import unique_org
from tests.kit import restaurants

ON_A_SHARED_STORE = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30)


def with_nul(text: str, at: int) -> str:
    at = min(at, len(text))
    return f"{text[:at]}\x00{text[at:]}"


@ON_A_SHARED_STORE
@given(
    text=TEXT,
    at=st.integers(0, 30),
    index=st.integers(0, 2),
    field=st.sampled_from(
        [("name",), ("external_id",), ("execution_config", "menu", "menu_id"), ("notes",)]
    ),
)
def test_a_nul_anywhere_in_a_batch_is_refused_by_its_place(
    app: Registrations, text: str, at: int, index: int, field: tuple[str, ...]
) -> None:
    org = unique_org()
    batch = restaurants(3)
    holder = batch[index]
    for part in field[:-1]:
        holder = holder.setdefault(part, {})
    holder[field[-1]] = with_nul(text, at)
    head = app.recorder.max_notification_id()
    with pytest.raises(InvalidInput) as refused:
        app.create_batch(org, "cli:test", "batch", batch)
    assert refused.value.errors == [f"restaurants[{index}].{'.'.join(field)}: NUL character"]
    assert app.recorder.max_notification_id() == head


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("a\x00b", "name: NUL character"),
        ("x" * (MAX_NAME + 1), f"name: at most {MAX_NAME} characters, not {MAX_NAME + 1}"),
    ],
)
def test_a_batch_name_the_api_would_refuse_is_refused(
    app: Registrations, name: str, error: str
) -> None:
    head = app.recorder.max_notification_id()
    with pytest.raises(InvalidInput) as refused:
        app.create_batch(unique_org(), "cli:test", name, restaurants(1))
    assert refused.value.errors == [error]
    assert app.recorder.max_notification_id() == head


def stopped_job(app: Registrations) -> tuple[str, Any]:
    org = unique_org()
    batch, jobs, _ = app.create_batch(org, "cli:test", "batch", restaurants(1))
    app.start_step6(org, batch.id, None, "cli:test")
    app.cancel(org, jobs[0].id, "cli:test", "stop")
    return org, jobs[0].id


@ON_A_SHARED_STORE
@given(text=TEXT, at=st.integers(0, 30), extra=st.integers(1, 50))
def test_a_reason_the_api_would_refuse_changes_no_job(
    app: Registrations, text: str, at: int, extra: int
) -> None:
    org, job_id = stopped_job(app)
    # A lone surrogate is what an argument that is not UTF-8 decodes to (the CLI's --reason):
    # it reached the store, whose write failed, and the refusal's record failed the same way.
    for reason in (
        with_nul(text, at),
        "r" * (MAX_REASON + extra),
        f"r{with_nul(text, at)}".replace("\x00", "\udcff"),
    ):
        before = app.job(job_id)
        with pytest.raises(InvalidInput):
            app.resume(org, job_id, "cli:test", reason)
        with pytest.raises(InvalidInput):
            app.edit(org, job_id, [("menuImport", "skipped", None)], "cli:test", reason)
        after = app.job(job_id)
        assert after.statuses() == before.statuses()
        [refusal] = [e for e in app.events.get(job_id, gt=before.version)]
        assert type(refusal).__name__ == "EditRefused"
        recorded = refusal.edit["reason"]
        assert "\x00" not in recorded and len(recorded) <= MAX_REASON
        recorded.encode()  # text every store keeps
