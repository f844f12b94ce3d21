"""A result an operator types in feeds the context later calls are sent: a field of the wrong
kind is refused by its place, whatever the rest of the result holds, and nothing is recorded;
a result of the right kinds is taken as typed."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from domain.context import RESULT_FIELDS
from domain.exceptions import InvalidInput
from tests.unit.jobs import PHASE1, new_job, refused, running_job, succeed
from tests.unit.jobs import given as replayed

# Text a store can keep: a NUL or a lone surrogate is refused first, wherever it is.
TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=5)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)
FIELDS = RESULT_FIELDS["codeGeneration"]


def ready_for_code_generation() -> Any:
    job = running_job()
    succeed(job, *(k for k in PHASE1 if k != "codeGeneration"))
    job.cancel("user:u-1", "stopped")  # an operator may now mark codeGeneration by hand
    return replayed(job)


@given(st.sampled_from(sorted(FIELDS)), JSON, st.dictionaries(TEXT, JSON, max_size=3))
def test_a_field_of_the_wrong_kind_is_refused_by_its_place(
    name: str, value: Any, rest: dict[str, Any]
) -> None:
    valid, _ = FIELDS[name]
    result = {k: v for k, v in rest.items() if k not in FIELDS} | {name: value}
    job = ready_for_code_generation()
    edit = lambda: job.edit([("codeGeneration", "completed", result)], "user:u-1", "typed in")  # noqa: E731
    if valid(value):
        return
    error = refused(job, edit, InvalidInput)
    assert f"codeGeneration.result.{name}: must be" in "; ".join(error.errors)


@given(TEXT.filter(str.strip), st.datetimes())
def test_a_result_of_the_right_kinds_feeds_the_context(injection: str, at: Any) -> None:
    job = ready_for_code_generation()
    result = {"codeInjectionId": injection, "codeInjectionGeneratedAt": at.isoformat()}
    job.edit([("codeGeneration", "completed", result)], "user:u-1", "typed in")
    assert job.context["codeInjectionId"] == injection
    assert job.context["codeInjectionGeneratedAt"] == at.isoformat()


def test_other_targets_and_sub_steps_take_any_result() -> None:
    job = replayed(new_job())
    job.edit([("cloudwaitressAccount", "completed", {"codeInjectionId": {}})], "user:u-1", "r")
