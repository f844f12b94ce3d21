"""Turning HTTP answers into call outcomes, and filling endpoint paths."""

from __future__ import annotations

import re

import pytest

from infrastructure.executors.http import HttpExecutor, UnsendablePath, concrete_path, outcome_of
from infrastructure.executors.port import CallOutcome, SubStepCall


class TestOutcomeOf:
    def test_success_true_is_a_result_without_the_flag(self) -> None:
        outcome = outcome_of(201, '{"success": true, "accountId": "a-1"}', {})
        assert outcome == CallOutcome(ok=True, result={"accountId": "a-1"}, status=201)

    def test_success_false_is_permanent(self) -> None:
        outcome = outcome_of(200, '{"success": false, "error": "exists"}', {})
        assert (outcome.ok, outcome.transient, outcome.error) == (False, False, "exists")

    def test_answer_without_success_is_permanent(self) -> None:
        outcome = outcome_of(200, '{"accountId": "a-1"}', {})
        assert (outcome.ok, outcome.transient) == (False, False)
        assert outcome.error == "HTTP 200: the answer has no success field"

    def test_html_instead_of_json_is_transient(self) -> None:
        outcome = outcome_of(200, "<!DOCTYPE html><title>x | Origin down</title>", {})
        assert (outcome.transient, outcome.error) == (True, "Cloudflare: Origin down")

    def test_server_error_with_success_true_body_is_still_an_error(self) -> None:
        outcome = outcome_of(503, '{"success": true}', {"Retry-After": "4"})
        assert (outcome.ok, outcome.transient, outcome.retry_after) == (False, True, 4.0)


class TestConcretePath:
    def test_fills_placeholders_from_the_payload(self) -> None:
        path = concrete_path("/menus/{menuId}/upload-images", {"menuId": "m/1"})
        assert path == "/menus/m%2F1/upload-images"

    @pytest.mark.parametrize("payload", [{}, {"menuId": ""}, {"menuId": None}])
    def test_missing_value_is_refused_naming_it(self, payload: dict[str, object]) -> None:
        with pytest.raises(UnsendablePath, match="missing path value menuId"):
            concrete_path("/menus/{menuId}/upload-images", payload)

    @pytest.mark.parametrize("menu_id", [".", ".."])
    def test_a_dot_segment_is_refused_naming_it(self, menu_id: str) -> None:
        with pytest.raises(UnsendablePath, match=f"menuId '{re.escape(menu_id)}' is a dot segment"):
            concrete_path("/menus/{menuId}/upload-images", {"menuId": menu_id})


class TestHttpExecutor:
    def test_headers_carry_keys_and_organisation(self) -> None:
        call = SubStepCall("j", "org-1", "codeGeneration", "/x", "j:codeGeneration:1", 1, {})
        headers = HttpExecutor("http://h/", service_key="sk").headers_for(call)
        assert headers == {
            "X-Organisation-ID": "org-1",
            "Idempotency-Key": "j:codeGeneration:1",
            "X-Service-Key": "sk",
        }

    def test_needs_at_least_one_connection(self) -> None:
        with pytest.raises(ValueError, match="max_connections"):
            HttpExecutor("http://h", max_connections=0)

    async def test_missing_path_value_is_a_permanent_outcome(self) -> None:
        executor = HttpExecutor("http://127.0.0.1:9")
        call = SubStepCall("j", "o", "uploadImages", "/menus/{menuId}/upload-images", "k", 1, {})
        outcome = await executor.call(call)
        await executor.close()
        assert (outcome.ok, outcome.transient) == (False, False)


async def test_a_call_carrying_erased_data_is_not_made_and_fails_for_good() -> None:
    executor = HttpExecutor("http://127.0.0.1:9")  # nothing listens: a call would be transient
    payload = {"account": {"email": "[erased]", "password": "[erased]"}}
    call = SubStepCall("j", "o", "cloudwaitressAccount", "/x", "k", 1, payload)
    outcome = await executor.call(call)
    await executor.close()
    assert (outcome.ok, outcome.transient) == (False, False)
    assert "erased" in (outcome.error or "")
