"""The HTTP executor over real servers: it never follows a redirect (the call, its service key,
password and personal data go to the configured registration API and nowhere else), and a 2xx
it cannot read as the answer's JSON object leaves the outcome unknown (retried, same key)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from infrastructure.executors.http import HttpExecutor
from infrastructure.executors.port import CallOutcome, SubStepCall

MakeServer = Callable[..., Awaitable[TestServer]]
SERVICE_KEY = "svc-key-0123456789"
PASSWORD = "hunter2-very-secret"
LOCATION_SECRET = "api_key=loc-s3cret-0123456789"
REDIRECTS = [301, 302, 303, 307, 308]


class Recorder:
    """A server that answers every request with `answer` and keeps what it received."""

    def __init__(self, answer: Callable[[web.Request], web.Response]) -> None:
        self.received: list[tuple[str, str, dict[str, str], bytes]] = []
        self.answer = answer

    def app(self) -> web.Application:
        application = web.Application()
        application.router.add_route("*", "/{tail:.*}", self.handle)
        return application

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.received.append((request.method, request.path_qs, dict(request.headers), body))
        return self.answer(request)


def account_call() -> SubStepCall:
    payload = {"account": {"email": "ann@example.com", "password": PASSWORD}}
    key = "job-r:cloudwaitressAccount:1"
    return SubStepCall("job-r", "org-7", "cloudwaitressAccount", "/register", key, 1, payload)


@pytest.fixture
async def thief(aiohttp_server: MakeServer) -> tuple[Recorder, str]:
    """A second server a redirect points at; it would answer any call it got as a success."""
    recorder = Recorder(lambda _: web.json_response({"success": True, "accountId": "stolen"}))
    server = await aiohttp_server(recorder.app())
    return recorder, str(server.make_url("")).rstrip("/")


@pytest.fixture
async def executor_for(aiohttp_server: MakeServer) -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    executors: list[HttpExecutor] = []

    async def make(answer: Callable[[web.Request], web.Response]) -> tuple[HttpExecutor, Recorder]:
        api = Recorder(answer)
        server = await aiohttp_server(api.app())
        executor = HttpExecutor(str(server.make_url("")), service_key=SERVICE_KEY)
        executors.append(executor)
        return executor, api

    yield make
    for executor in executors:
        await executor.close()


def redirect(status: int, location: str, body: str = "") -> Callable[[web.Request], web.Response]:
    def answer(_: web.Request) -> web.Response:
        return web.Response(status=status, text=body, headers={"Location": location})

    return answer


def assert_a_redirect_refused(outcome: CallOutcome, status: int) -> None:
    assert (outcome.ok, outcome.transient, outcome.status) == (False, False, status)
    assert outcome.error is not None
    assert f"HTTP {status}" in outcome.error
    assert "redirect" in outcome.error and "not followed" in outcome.error


class TestRedirectsAreNotFollowed:
    @pytest.mark.parametrize("status", REDIRECTS)
    async def test_the_other_host_receives_nothing(
        self, status: int, thief: tuple[Recorder, str], executor_for: Any
    ) -> None:
        other, other_url = thief
        executor, api = await executor_for(redirect(status, f"{other_url}/steal?{LOCATION_SECRET}"))
        outcome = await executor.call(account_call())
        assert other.received == []
        assert len(api.received) == 1  # the registration API itself got the call, once
        assert_a_redirect_refused(outcome, status)

    @pytest.mark.parametrize("status", REDIRECTS)
    async def test_the_location_is_not_quoted(
        self, status: int, thief: tuple[Recorder, str], executor_for: Any
    ) -> None:
        _, other_url = thief
        with_credentials = other_url.replace("http://", "http://ann:pw-0123456789@")
        executor, _ = await executor_for(
            redirect(status, f"{with_credentials}/steal?{LOCATION_SECRET}")
        )
        outcome = await executor.call(account_call())
        assert_a_redirect_refused(outcome, status)
        for secret in ("loc-s3cret", "pw-0123456789", "/steal", SERVICE_KEY, PASSWORD):
            assert secret not in (outcome.error or "")

    async def test_a_redirect_to_its_own_host_is_not_followed(self, executor_for: Any) -> None:
        executor, api = await executor_for(redirect(307, "/elsewhere"))
        outcome = await executor.call(account_call())
        assert [(method, path) for method, path, _, _ in api.received] == [("POST", "/register")]
        assert_a_redirect_refused(outcome, 307)

    async def test_a_redirect_page_in_html_is_still_permanent(
        self, thief: tuple[Recorder, str], executor_for: Any
    ) -> None:
        other, other_url = thief
        page = "<!DOCTYPE html><html><title>Moved</title><body>moved</body></html>"
        executor, _ = await executor_for(redirect(302, f"{other_url}/steal", page))
        outcome = await executor.call(account_call())
        assert other.received == []
        assert_a_redirect_refused(outcome, 302)


UNREADABLE_BODIES = [
    b'{"success": true, "id": ',
    b"",
    b"[1,2]",
    b"null",
    b'{"success": true, "name": "\xff\xfe"}',
]


class TestUnreadableSuccess:
    @pytest.mark.parametrize("body", UNREADABLE_BODIES)
    @pytest.mark.parametrize("status", [200, 201])
    async def test_is_an_unknown_outcome(self, status: int, body: bytes, executor_for: Any) -> None:
        executor, _ = await executor_for(
            lambda _: web.Response(status=status, body=body, content_type="application/json")
        )
        outcome = await executor.call(account_call())
        assert (outcome.ok, outcome.transient, outcome.status) == (False, True, status)
        assert (outcome.error or "").startswith(f"HTTP {status}: ")
