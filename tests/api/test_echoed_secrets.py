"""A registration API that quotes what it was sent gets no secret into the log or the views.

The service key travels in a header and the payload's secrets and personal data are sealed by
their field names; an answer quoting them ("X-Service-Key ... is not valid") becomes a
sub-step's error or result, stored and shown everywhere. Whatever the key, the values and the
words around them, what comes back stored holds none of them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.executors.echoes import SHORTEST_IN_A_RESULT, sent_values, without_echoes
from infrastructure.executors.http import HttpExecutor, outcome_of
from infrastructure.executors.port import SubStepCall

MakeServer = Callable[..., Awaitable[TestServer]]
printable = st.text(
    st.characters(min_codepoint=33, max_codepoint=126, exclude_characters='"\\'),
    min_size=4,
    max_size=40,
)
words = st.text(max_size=20)


def texts_of(value: Any) -> list[str]:
    """Every text in an outcome's error or result, keys included."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for k, v in value.items() for t in (*texts_of(k), *texts_of(v))]
    if isinstance(value, list):
        return [t for item in value for t in texts_of(item)]
    return []


def call_with(payload: dict[str, Any]) -> SubStepCall:
    job = str(uuid.uuid4())
    return SubStepCall(
        job_id=job,
        organisation_id="org-7",
        sub_step="cloudwaitressAccount",
        endpoint="/api/registration/register-account",
        idempotency_key=f"{job}:cloudwaitressAccount:1",
        attempt=1,
        payload=payload,
    )


@settings(max_examples=300, deadline=None)
@given(
    key=printable,
    password=printable,
    email=printable,
    before=words,
    after=words,
    status=st.sampled_from([200, 400, 401, 403, 422, 500, 503]),
)
def test_an_answer_quoting_what_was_sent_is_stored_without_it(
    key: str, password: str, email: str, before: str, after: str, status: int
) -> None:
    payload = {"email": email, "password": password, "restaurantName": "Buzz"}
    quoted = f"{before}X-Service-Key {key}, password {password}, email {email}{after}"
    for body in (
        json.dumps({"success": False, "error": quoted}),
        json.dumps({"success": True, "token": key, "note": quoted}),
        quoted,
    ):
        outcome = outcome_of(status, body, {})
        shown = without_echoes(outcome, sent_values(payload, [key]))
        for secret in (key, password):
            assert secret not in (shown.error or ""), (secret, shown.error)
            if len(secret) >= SHORTEST_IN_A_RESULT:
                assert not any(secret in text for text in texts_of(shown.result)), secret
        if not shown.ok:
            assert email not in (shown.error or "")


async def test_the_service_key_quoted_back_is_not_in_the_error(
    aiohttp_server: MakeServer,
) -> None:
    async def refuse(request: web.Request) -> web.Response:
        body = await request.json()
        message = (
            f"X-Service-Key {request.headers['X-Service-Key']} is not valid for "
            f"{body['email']} (password {body['password']})"
        )
        return web.json_response({"success": False, "error": message}, status=403)

    app = web.Application()
    app.router.add_post("/api/registration/register-account", refuse)
    server = await aiohttp_server(app)
    executor = HttpExecutor(str(server.make_url("")), service_key="svc-key-0123456789")
    try:
        payload = {"email": "o@buzz.example", "password": "hunter22", "restaurantName": "Buzz"}
        outcome = await executor.call(call_with(payload))
    finally:
        await executor.close()
    assert not outcome.ok and outcome.status == 403
    error = outcome.error or ""
    assert "svc-key-0123456789" not in error and "hunter22" not in error
    assert "o@buzz.example" not in error
    assert "is not valid for" in error, "the rest of the message is kept"


def test_a_short_secret_does_not_change_the_words_of_a_result() -> None:
    """A development key such as `test` is masked where an error quotes it, but a result (ids
    and paths later calls use) keeps its words: `latest` stays `latest`."""
    sent = sent_values({"password": "test"}, ["test"])
    outcome = outcome_of(200, json.dumps({"success": True, "path": "/menus/latest"}), {})
    assert without_echoes(outcome, sent).result == {"path": "/menus/latest"}
    refused = outcome_of(401, json.dumps({"success": False, "error": "key test refused"}), {})
    assert without_echoes(refused, sent).error is not None
    assert "test" not in (without_echoes(refused, sent).error or "").replace("***", "")
