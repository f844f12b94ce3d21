"""A refusal that quotes what was sent (an unknown sub-step's name, an id, a parameter, an
Idempotency-Key) quotes it masked: what was sent may hold a credential, and an error answer is
shown as every text is. Whatever the credential, on every route that quotes, none of it
comes back."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import BASE, Caller, restaurant

SECRET_VALUE = st.text(
    st.characters(min_codepoint=0x30, max_codepoint=0x7A, categories=["Lu", "Ll", "Nd"]),
    min_size=8,
    max_size=24,
)


def credentials(value: str) -> list[str]:
    """`value` written as a credential is written: given to a secret's name, as a token."""
    token = jwt.encode({"sub": value}, "k" * 32, algorithm="HS256")
    return [f"password={value}", f"token:{value}", token]


async def quoting_refusals(caller: Caller, job: str, sent: str) -> list[tuple[int, Any]]:
    """Requests whose refusal may quote `sent`: (status, body) of each."""
    path_sent = sent.replace("/", "%2F")
    answers = [
        await caller.get(f"{BASE}/jobs/{path_sent}/events"),
        await caller.patch(
            f"{BASE}/jobs/{job}/steps/6/sub-steps/{path_sent}",
            json={"status": "failed", "reason": "r"},
        ),
        await caller.get(f"{BASE}/jobs/{job}/steps/6/sub-steps/{path_sent}/validation"),
        await caller.get(f"{BASE}?limit={sent}"),
        await caller.get(f"{BASE}/jobs/{job}/state", params={"at": sent}),
        await caller.post(
            BASE,
            json={"name": "n", "restaurants": [restaurant(skip=[sent])]},
        ),
    ]
    return answers


@pytest.fixture
async def job_of(org_a: Caller) -> str:
    batch = await org_a.new_batch()
    return str(batch["jobs"][0]["id"])


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=SECRET_VALUE)
async def test_a_refusal_quoting_a_credential_sent_quotes_it_masked(
    org_a: Caller, job_of: str, value: str
) -> None:
    for sent in credentials(value):
        for status, body in await quoting_refusals(org_a, job_of, sent):
            assert 400 <= status < 500, (sent, status, body)
            assert body["success"] is False
            shown = json.dumps(body)
            assert value not in shown, (sent, body)


async def test_an_idempotency_key_shaped_as_a_token_is_refused_never_quoted(
    org_a: Caller, job_of: str
) -> None:
    """A key that reads as a credential would be shown masked in one place and as it is in
    another: it is refused before anything is done, and not quoted."""
    key = jwt.encode({"sub": "IdemKeyJwtSig-M1"}, "k" * 32, algorithm="HS256")
    headers = {"Idempotency-Key": key}
    path = f"{BASE}/jobs/{job_of}/steps/6/sub-steps/cloudwaitressAccount"
    _, before = await org_a.get(f"{BASE}/jobs/{job_of}/events", params={"limit": "1000"})
    status, body = await org_a.patch(
        path, json={"status": "failed", "reason": "r"}, headers=headers
    )
    assert status in (400, 422), body
    assert key.split(".")[2] not in json.dumps(body)
    assert "Idempotency-Key" in body["message"]
    _, after = await org_a.get(f"{BASE}/jobs/{job_of}/events", params={"limit": "1000"})
    assert after == before


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(value=SECRET_VALUE, top=st.booleans())
async def test_a_field_named_with_a_credential_is_refused_never_quoted(
    org_a: Caller, job_of: str, value: str, top: bool
) -> None:
    """A field's name is shown as it is: one holding a credential would be shown, stored
    unsealed and kept through an erasure. Refused where it stands, in a restaurant, its config
    or an edit's result, and nothing is made."""
    _, before = await org_a.get(BASE)
    for name in credentials(value):
        shop = restaurant()
        if top:
            shop[name] = "x"
        else:
            shop["execution_config"]["extra"] = {"nested": {name: "x"}}
        status, body = await org_a.post(BASE, json={"name": "n", "restaurants": [shop]})
        assert status == 422, body
        assert value not in json.dumps(body)
        assert any("a field's name reads as a credential" in e for e in body["errors"])
        path = f"{BASE}/jobs/{job_of}/steps/6/sub-steps/cloudwaitressAccount"
        status, body = await org_a.patch(
            path, json={"status": "completed", "reason": "r", "result": {name: "x"}}
        )
        assert status == 422, body
        assert value not in json.dumps(body)
    _, after = await org_a.get(BASE)
    assert len(after["batches"]) == len(before["batches"])
