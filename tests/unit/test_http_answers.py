"""Which HTTP answers leave a call's outcome unknown, and which are the API's own refusal:
a 2xx whose body is no JSON object keeps its idempotency key, a redirect is never followed."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from domain.failures import classify_http
from domain.plan import PLAN
from domain.progress_rules import plan_resume
from infrastructure.executors.http import outcome_of

SUCCESS_STATUSES = st.integers(200, 299)
REDIRECT_STATUSES = st.integers(300, 399)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
ANSWERS = st.dictionaries(st.text(), JSON_VALUES, min_size=1, max_size=4).map(
    lambda d: {"success": True, "id": "r-1"} | d
)


@st.composite
def truncated_answers(draw: st.DrawFn) -> str:
    """A JSON object's text cut short, as a dropped connection or a proxy leaves it."""
    text = json.dumps(draw(ANSWERS))
    return text[: draw(st.integers(0, len(text) - 1))]


NOT_JSON_OBJECTS = st.one_of(
    truncated_answers(),
    JSON_VALUES.filter(lambda v: not isinstance(v, dict)).map(json.dumps),
    st.text(),
)


def unreadable(body: str) -> bool:
    try:
        return not isinstance(json.loads(body), dict)
    except ValueError:
        return True


class TestUnreadableSuccess:
    @given(status=SUCCESS_STATUSES, body=NOT_JSON_OBJECTS)
    def test_a_2xx_without_a_json_object_is_an_unknown_outcome(
        self, status: int, body: str
    ) -> None:
        assume(unreadable(body))
        outcome = outcome_of(status, body, {})
        assert (outcome.ok, outcome.transient, outcome.status) == (False, True, status)
        assert outcome.error

    def test_the_examples_of_the_defect(self) -> None:
        for body in ('{"success": true, "id": ', "", "[1,2]", "null", '"ok"', "   "):
            assert outcome_of(200, body, {}).transient is True, body

    def test_a_truncated_answer_says_the_outcome_is_unknown(self) -> None:
        error = outcome_of(201, '{"success": true, "id": ', {}).error or ""
        assert error.startswith("HTTP 201: ") and "unknown" in error

    def test_a_refusal_in_a_json_object_stays_permanent(self) -> None:
        outcome = outcome_of(200, '{"success": false, "error": "exists"}', {})
        assert (outcome.ok, outcome.transient) == (False, False)

    @given(status=st.integers(400, 499).filter(lambda s: s not in (408, 425, 429)))
    def test_an_unreadable_4xx_stays_permanent(self, status: int) -> None:
        assert classify_http(status, '{"success": ', {}).transient is False


class TestResumeKeepsTheKeyOfAnUnknownOutcome:
    def test_a_2xx_without_a_json_object_keeps_its_generation(self) -> None:
        failure = outcome_of(200, '{"success": true, "id": ', {})
        statuses = dict.fromkeys(PLAN.keys, "pending") | {"cloudwaitressAccount": "failed"}
        failures = {"cloudwaitressAccount": (failure.transient, 1)}
        plan = plan_resume(statuses, dict.fromkeys(PLAN.phases, "pending"), failures, {})
        assert "cloudwaitressAccount" in plan.fresh_attempts
        assert plan.new_generations == {}


class TestRedirects:
    @given(
        status=REDIRECT_STATUSES,
        body=st.text() | JSON_VALUES.map(json.dumps),
        path=st.text(min_size=1).map(lambda t: "/steal-" + t),
    )
    def test_a_3xx_is_a_permanent_refusal_naming_the_redirect(
        self, status: int, body: str, path: str
    ) -> None:
        headers = {"Location": f"http://ann:pw-0123456789@other-host:8080{path}?key=s3cr3t"}
        outcome = outcome_of(status, body, headers)
        assert (outcome.ok, outcome.transient, outcome.status) == (False, False, status)
        error = outcome.error or ""
        assert error.startswith(f"HTTP {status}: ") and "redirect" in error
        assert "not followed" in error
        assert "/steal" not in error and "s3cr3t" not in error and "pw-0123456789" not in error

    def test_a_redirect_names_only_the_host_it_points_at(self) -> None:
        headers: dict[str, Any] = {"location": "http://u:p@Other-Host:81/a?b=c"}
        error = outcome_of(307, "", headers).error
        assert error == (
            "HTTP 307: the registration API answered with a redirect, which was not followed "
            "(to other-host)"
        )

    def test_a_redirect_without_a_location_still_names_the_redirect(self) -> None:
        error = outcome_of(302, "", {}).error
        said = "HTTP 302: the registration API answered with a redirect, which was not followed"
        assert error == said
