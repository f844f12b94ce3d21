"""The simulator's pure parts: fault rules and counting, latency, keys, the record's checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.plan import PLAN, SUB_STEPS
from infrastructure.executors.simulator.calls import (
    CallRecord,
    executions_per_key,
    overlapping_executions,
    parse_key,
)
from infrastructure.executors.simulator.faults import (
    FaultBook,
    FaultRule,
    SimulatorConfig,
    latency_of,
)

ACCOUNT = PLAN.sub_step("cloudwaitressAccount")
IMAGES = PLAN.sub_step("uploadImages")


class TestFaultBook:
    def test_counts_per_job_and_sub_step(self) -> None:
        book = FaultBook([FaultRule(kind="unavailable", times=1)])
        draws = [book.draw(ACCOUNT, ACCOUNT.endpoint, job) for job in ("a", "a", "b")]
        assert [d is not None for d in draws] == [True, False, True]

    def test_counts_in_total_when_asked(self) -> None:
        book = FaultBook([FaultRule(kind="unavailable", times=1, per_job=False)])
        draws = [book.draw(ACCOUNT, ACCOUNT.endpoint, job) for job in ("a", "b")]
        assert [d is not None for d in draws] == [True, False]

    @pytest.mark.parametrize(
        "endpoint", [IMAGES.endpoint, "uploadImages", "/menus/m-1/upload-images"]
    )
    def test_endpoint_matches_by_template_key_or_path(self, endpoint: str) -> None:
        rule = FaultRule(kind="bad_request", endpoint=endpoint)
        assert rule.matches(IMAGES, "/menus/m-1/upload-images", "j")
        assert not rule.matches(ACCOUNT, ACCOUNT.endpoint, "j")

    def test_rules_without_times_always_strike(self) -> None:
        book = FaultBook([FaultRule(kind="success_false")])
        assert all(book.draw(ACCOUNT, ACCOUNT.endpoint, "j") for _ in range(5))

    def test_nonsense_rules_are_refused(self) -> None:
        with pytest.raises(ValidationError):
            FaultRule.model_validate({"kind": "unavailable", "times": 0})

    @given(
        endpoint=st.one_of(
            st.text(max_size=40),
            st.sampled_from([s.key for s in SUB_STEPS] + [s.endpoint for s in SUB_STEPS]).map(
                lambda name: name.upper() if name.islower() else name + "x"
            ),
            st.from_regex(r"/menus/[^/]{0,8}(/[^/]{0,8})?/upload-images", fullmatch=True),
        )
    )
    def test_an_endpoint_is_taken_exactly_when_some_call_of_step_6_is_its(
        self, endpoint: str
    ) -> None:
        """A rule naming nothing the engine calls would strike nothing, silently: it is refused,
        naming the field; a rule taken strikes the calls it names."""
        head, tail = "/menus/", "/upload-images"
        menu = endpoint[len(head) : -len(tail)] if endpoint.startswith(head) else ""
        named = {name for step in SUB_STEPS for name in (step.key, step.endpoint)}
        a_path = endpoint.endswith(tail) and bool(menu) and "/" not in menu
        try:
            rule = FaultRule(kind="bad_request", endpoint=endpoint)
        except ValidationError as refused:
            assert endpoint not in named and not a_path, endpoint
            assert "names no call of Step 6" in str(refused)
        else:
            assert endpoint in named or a_path, endpoint
            served = f"{head}{menu}{tail}" if a_path else IMAGES.endpoint
            assert any(
                rule.matches(step, served if step is IMAGES else step.endpoint, "j")
                for step in SUB_STEPS
            )

    @pytest.mark.parametrize("kind", ["cloudflare", "timeout", "bad_request", "success_false"])
    def test_retry_after_only_where_it_is_sent(self, kind: str) -> None:
        with pytest.raises(ValidationError, match="retry_after is sent only by"):
            FaultRule.model_validate({"kind": kind, "retry_after": 2})

    @pytest.mark.parametrize(
        "kind", ["unavailable", "cloudflare", "rate_limited", "bad_request", "success_false"]
    )
    def test_a_hang_only_for_a_timeout(self, kind: str) -> None:
        with pytest.raises(ValidationError, match="hang is a timeout fault's"):
            FaultRule.model_validate({"kind": kind, "hang": 2})

    def test_latency_only_of_calls_of_step_6(self) -> None:
        SimulatorConfig(latency={"*": 1, "menuImport": 2, IMAGES.endpoint: 3})
        with pytest.raises(ValidationError, match="latency 'menuimport' names no call"):
            SimulatorConfig(latency={"menuimport": 2})


class TestConfig:
    def test_loads_from_json(self, tmp_path: Path) -> None:
        path = tmp_path / "simulator.json"
        path.write_text(json.dumps({"service_key": "sk", "faults": [{"kind": "timeout"}]}))
        config = SimulatorConfig.from_json_file(path)
        assert (config.service_key, config.faults[0].kind) == ("sk", "timeout")

    def test_latency_by_endpoint_then_key_then_default(self) -> None:
        latency = {ACCOUNT.endpoint: 0.3, "uploadImages": 0.2, "*": 0.1}
        codes = PLAN.sub_step("codeGeneration")
        assert [latency_of(latency, s) for s in (ACCOUNT, IMAGES, codes)] == [0.3, 0.2, 0.1]


def record(key: str, started: float, finished: float | None, executed: bool = True) -> CallRecord:
    job, sub_step, generation = parse_key(key)
    return CallRecord(
        key, "/x", job, sub_step or "", generation, started, None, finished, 200, executed
    )


class TestRecordChecks:
    def test_parse_key(self) -> None:
        assert parse_key("j-1:menuImport:3") == ("j-1", "menuImport", "3")
        assert parse_key("j-1") == ("j-1", None, None)

    def test_executions_per_key_ignores_replays(self) -> None:
        calls = [
            record("j:a:1", 0, 1),
            record("j:a:1", 2, 3, executed=False),
            record("j:a:2", 4, 5),
        ]
        assert executions_per_key(calls) == {"j:a:1": 1, "j:a:2": 1}

    def test_overlap_within_one_sub_step_of_one_job(self) -> None:
        calls = [record("j:a:1", 0, 2), record("j:a:2", 1, 3), record("k:a:1", 0, 2)]
        pairs = overlapping_executions(calls)
        assert [(p[0]["key"], p[1]["key"]) for p in pairs] == [("j:a:1", "j:a:2")]

    def test_back_to_back_calls_do_not_overlap(self) -> None:
        assert overlapping_executions([record("j:a:1", 0, 1), record("j:a:2", 1, 2)]) == []

    def test_unfinished_call_overlaps_what_follows(self) -> None:
        calls = [record("j:a:1", 0, None), record("j:a:2", 5, 6)]
        assert len(overlapping_executions(calls)) == 1

    def test_works_on_records_read_as_json(self) -> None:
        calls = [record("j:a:1", 0, 2).as_dict(), record("j:a:2", 1, 3).as_dict()]
        assert len(overlapping_executions(calls)) == 1
