"""An Idempotency-Key of an organisation since erased confirms nothing of what it sent.

A request repeating a key is compared with the one that used it first: the same content is
answered as it was, other content refused. Once the organisation is erased, that comparison
would tell whether a guess of its erased data was right; so the keyed digest of a request is
sealed with the organisation's key, and a repeat of the key is refused the same way whatever
it sends."""

from __future__ import annotations

from typing import Any

from domain.exceptions import ERASED_REQUEST
from infrastructure.settings import Settings
from tests.api.conftest import BASE, Caller, Client
from tests.api.quotes_kit import erase, new_caller


def batch_body(email: str) -> dict[str, Any]:
    config = {"account": {"email": email, "password": "MuPw-DD1"}}
    return {"name": "mu", "restaurants": [{"name": "Mu Cafe", "execution_config": config}]}


async def test_a_batch_key_repeated_after_the_erasure_is_refused_whatever_it_sends(
    client: Client, api_settings: Settings
) -> None:
    caller: Caller = new_caller(client)
    sent = batch_body("mu.secret.person@example.com")
    headers = {"Idempotency-Key": "mu-key-1"}
    status, first = await caller.post(BASE, json=sent, headers=headers)
    assert status == 201, first
    status, again = await caller.post(BASE, json=sent, headers=headers)
    assert status == 201 and again["batch"]["id"] == first["batch"]["id"]  # before: replayed
    erase(client, api_settings, caller.org)
    answers = [
        await caller.post(BASE, json=body, headers=headers)
        for body in (sent, batch_body("a.guess@example.com"))
    ]
    assert [status for status, _ in answers] == [422, 422], answers
    assert answers[0][1] == answers[1][1]  # the right guess and a wrong one: one answer
    assert answers[0][1]["message"] == ERASED_REQUEST


async def test_an_edit_key_repeated_after_the_erasure_is_refused_whatever_it_sends(
    client: Client, api_settings: Settings
) -> None:
    caller: Caller = new_caller(client)
    status, created = await caller.post(BASE, json=batch_body("ed@example.com"))
    assert status == 201, created
    job = created["batch"]["jobs"][0]["id"]
    path = f"{BASE}/jobs/{job}/steps/6/sub-steps/cloudwaitressAccount"
    headers = {"Idempotency-Key": "edit-key-1"}
    edit = {"status": "failed", "reason": "owner ed@example.com asked"}
    status, answer = await caller.patch(path, json=edit, headers=headers)
    assert status == 200, answer
    erase(client, api_settings, caller.org)
    answers = [
        await caller.patch(path, json=body, headers=headers)
        for body in (edit, edit | {"reason": "owner guess@example.com asked"})
    ]
    assert [status for status, _ in answers] == [422, 422], answers
    assert answers[0][1] == answers[1][1]
    assert answers[0][1]["message"] == ERASED_REQUEST
