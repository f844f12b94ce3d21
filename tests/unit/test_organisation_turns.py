"""The work source's turns answer as their definition does, for any names and any order of
starts and stops: each organisation's oldest job first, organisations in the order their
oldest job started, then the second oldest of each, and so on."""

from __future__ import annotations

from itertools import chain, zip_longest

from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.engine.turns import OrganisationTurns


def turns_by_definition(in_progress: dict[str, str], limit: int) -> list[str]:
    """`in_progress` maps each job to its organisation, in the order the jobs started."""
    by_organisation: dict[str, list[str]] = {}
    for job_id, organisation in in_progress.items():
        by_organisation.setdefault(organisation, []).append(job_id)
    turns = chain.from_iterable(zip_longest(*by_organisation.values()))
    return [job_id for job_id in turns if job_id is not None][: max(limit, 0)]


# A few names drawn often, so that starts and stops meet the same jobs and organisations, and
# arbitrary text beside them, so that no name is special.
JOBS = st.one_of(st.sampled_from(["a", "b", "c", "d", "e", "f"]), st.text(max_size=8))
ORGANISATIONS = st.one_of(st.sampled_from(["", "o1", "o2", "o3"]), st.text(max_size=8))
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("start"), JOBS, ORGANISATIONS),
        st.tuples(st.just("stop"), JOBS, st.just("")),
        st.tuples(st.just("take"), st.just(""), st.integers(-2, 40).map(str)),
    ),
    max_size=80,
)


@settings(max_examples=500, deadline=None)
@given(STEPS)
def test_turns_equal_their_definition_after_any_starts_and_stops(
    steps: list[tuple[str, str, str]],
) -> None:
    turns = OrganisationTurns()
    model: dict[str, str] = {}
    for kind, job_id, argument in steps:
        if kind == "start":
            turns.start(job_id, argument)
            model.setdefault(job_id, argument)
        elif kind == "stop":
            turns.stop(job_id)
            model.pop(job_id, None)
        else:
            assert turns.take(int(argument)) == turns_by_definition(model, int(argument))
        assert len(turns) == len(model)
        assert all(job_id in turns for job_id in model)
    assert turns.take(10_000) == turns_by_definition(model, 10_000)


def test_a_stopped_organisation_leaves_nothing_behind() -> None:
    """Every organisation that ever ran would otherwise stay in memory for good."""
    turns = OrganisationTurns()
    for n in range(100):
        turns.start(f"job-{n}", f"org-{n % 7}")
    for n in range(100):
        turns.stop(f"job-{n}")
    assert len(turns) == 0
    assert turns.take(10) == []
    assert not turns._jobs_of and not turns._places


def test_an_organisation_moves_back_when_its_oldest_job_stops() -> None:
    turns = OrganisationTurns()
    for job_id, organisation in [("a1", "A"), ("b1", "B"), ("a2", "A"), ("c1", "C")]:
        turns.start(job_id, organisation)
    assert turns.take(10) == ["a1", "b1", "c1", "a2"]
    turns.stop("a1")
    assert turns.take(10) == ["b1", "a2", "c1"]
    assert turns.take(2) == ["b1", "a2"]
