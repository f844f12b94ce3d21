"""Text no store can keep (a lone surrogate, a NUL), anywhere in a body's free-form JSON: a
key or a value, at any depth, in a restaurant's execution_config or an edit's result, is
refused 422 naming where it is, and nothing is recorded (it was a 500 from the store)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api.conftest import BASE, Caller, restaurant

LONE = ("\udfff", "\ud800", "a\udc80b", "\x00")


def planted(bad: str, where: str) -> tuple[Any, str]:
    """A free-form value holding `bad` at `where`, and the path an error names (from the
    value's own name)."""
    if where == "value":
        return {"notes": bad}, ".notes"
    if where == "key":
        return {bad: 1}, ".<key>"
    if where == "deep key":
        return {"a": [{"b": {bad: "x"}}]}, ".a[0].b.<key>"
    return {"a": [1, {"b": ["ok", bad]}]}, ".a[1].b[1]"


WHERE = ("value", "key", "deep key", "deep value")
WHAT = {"\x00": "NUL character"}


def expected(path: str, bad: str) -> str:
    return f"{path}: {WHAT.get(bad, 'not text (a lone surrogate: bytes that are not UTF-8?)')}"


async def sent(caller: Caller, method: str, path: str, body: Any) -> tuple[int, Any]:
    """`body` as JSON text, its lone surrogates written as `\\udfff` escapes (as any JSON
    encoder writes them)."""
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    return await caller.call(method, path, data=data, headers=headers)


async def events_of(caller: Caller, job_id: str) -> list[Any]:
    status, body = await caller.get(f"{BASE}/jobs/{job_id}/events")
    assert status == 200
    return list(body["events"])


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("bad", LONE)
async def test_an_execution_config_holding_it_creates_no_batch(
    org_a: Caller, bad: str, where: str
) -> None:
    config, path = planted(bad, where)
    body = {"name": "b", "restaurants": [restaurant(), restaurant("Two", **config)]}
    _, before = await org_a.get(BASE)
    status, answer = await sent(org_a, "POST", BASE, body)
    assert (status, answer["errors"]) == (
        422,
        [expected(f"restaurants[1].execution_config{path}", bad)],
    )
    _, after = await org_a.get(BASE)
    assert after["batches"] == before["batches"]


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("bad", LONE)
@pytest.mark.parametrize("bulk", [False, True], ids=["single", "bulk"])
async def test_an_edits_result_holding_it_records_nothing(
    org_a: Caller, bad: str, where: str, bulk: bool
) -> None:
    batch = await org_a.new_batch()
    job_id = batch["jobs"][0]["id"]
    result, path = planted(bad, where)
    edit = {"status": "completed", "reason": "by hand", "result": result}
    sub_steps = f"{BASE}/jobs/{job_id}/steps/6/sub-steps"
    before = await events_of(org_a, job_id)
    if bulk:
        body = {"updates": [{"sub_step": "cloudwaitressAccount", **edit}]}
        status, answer = await sent(org_a, "PATCH", sub_steps, body)
        named = f"updates[0].result{path}"
    else:
        status, answer = await sent(org_a, "PATCH", f"{sub_steps}/cloudwaitressAccount", edit)
        named = f"result{path}"
    assert (status, answer["errors"]) == (422, [expected(named, bad)])
    assert await events_of(org_a, job_id) == before
