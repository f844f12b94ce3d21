"""A refusal that quotes what was sent masks a value given to a secret's name in it: a bulk
edit of the sub-step `password=...` and a start naming the job `password=...` answered it."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import BASE, Caller, restaurant

SECRET_NAMES = st.sampled_from(["password", "token", "api_key", "secret", "pw", "passwort"])
VALUES = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=8)


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=SECRET_NAMES, value=VALUES)
async def test_an_unknown_sub_step_or_job_quoted_back_is_masked(
    org_a: Caller, name: str, value: str
) -> None:
    batch = await org_a.new_batch(restaurant("Quoted"))
    job_id = batch["jobs"][0]["id"]
    sent = f"{name}={value}"
    edit = {"updates": [{"sub_step": sent, "status": "completed"}], "reason": "check"}
    status, body = await org_a.patch(f"{BASE}/jobs/{job_id}/steps/6/sub-steps", json=edit)
    assert status in (400, 404, 422) and value not in json.dumps(body), body
    start = {"job_ids": [sent]}
    status, body = await org_a.post(f"{BASE}/{batch['id']}/step-6/start", json=start)
    assert status in (400, 404, 422) and value not in json.dumps(body), body
