"""The progress document, masked in parts, is the document masked whole: for any job state.

`document_of` masks each sub-step's entry once per distinct state and puts the parts
together; this holds it to the plain definition (build the whole document, then mask it)
over sub-steps in any status with any error, reason, result and times a job can carry.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any
from uuid import uuid4

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.job import RegistrationJob
from domain.plan import PLAN
from domain.secrets import redact
from domain.status import SubStepStatus
from projections.folds.jobs import _sub_step, document_of, json_ready, public
from tests.unit.jobs import FULL_CONFIG

texts = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(
        [
            "HTTP 401: Bearer abcdef123456 refused",
            "token=abc123abc123",
            "sk_live_0123456789abcdef",
            "password: hunter22 for o@buzz.example",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
        ]
    ),
)
names = st.one_of(
    st.sampled_from(["token", "password", "apiKey", "email", "phone", "id", "url"]), st.text()
)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
    max_leaves=6,
)
times = st.none() | st.datetimes(timezones=st.just(UTC))
states = st.fixed_dictionaries(
    {
        "status": st.sampled_from([str(s) for s in SubStepStatus]),
        "attempts": st.integers(0, 9),
        "started_at": times,
        "completed_at": times,
        "error": texts,
        "reason": texts,
        "retry_at": times,
        "result": st.dictionaries(names, values, max_size=3),
    }
)


def whole(job: RegistrationJob) -> dict[str, Any]:
    """The document built whole, then masked whole: the definition."""
    shown = job.shown_statuses()
    phases = job.phase_statuses(shown)
    context = job.context
    document: dict[str, Any] = redact(
        {
            "current_phase": job.current_phase_of(phases),
            "registration_api": job.registration_api,
            "phases": {
                phase: {
                    "status": phases[phase],
                    "sub_steps": {
                        key: _sub_step(job.sub_steps[key], shown[key])
                        for key in PLAN.in_phase(phase)
                    },
                }
                for phase in PLAN.phases
            },
            "context": json_ready({k: v for k, v in context.items() if k != "results"}),
        }
    )
    results = {key: public(state.result) for key, state in job.sub_steps.items()}
    for phase in document["phases"].values():
        for key, item in phase["sub_steps"].items():
            item["result"] = results[key]
    document["context"]["results"] = {key: results[key] for key in context["results"]}
    return document


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PLAN.keys), states), max_size=12), st.integers(1, 3))
def test_the_document_masked_in_parts_is_the_document_masked_whole(
    changes: list[tuple[str, dict[str, Any]]], renders: int
) -> None:
    job = RegistrationJob.register(uuid4(), "org-1", {"name": "Buzz"}, FULL_CONFIG, "user:u-1")
    for key, fields in changes:
        for name, value in fields.items():
            setattr(job.sub_steps[key], name, value)
        for _ in range(renders):  # a state masked before is taken from the ones kept
            assert document_of(job) == whole(job)


def test_a_shown_entry_is_not_changed_by_what_a_caller_does_with_its_document() -> None:
    job = RegistrationJob.register(uuid4(), "org-1", {"name": "Buzz"}, FULL_CONFIG, "user:u-1")
    first = document_of(job)
    first["phases"]["phase1"]["sub_steps"]["cloudwaitressAccount"]["status"] = "tampered"
    assert document_of(job) == whole(job)
