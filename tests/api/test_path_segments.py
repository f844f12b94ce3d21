"""An id put in a registration API path reaches the server as the one segment naming it, whatever
its value, or is refused and no call is made: never a call to another endpoint. A batch naming
an id that no path can carry is refused when it is created, naming the field."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import unquote

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from domain.exceptions import InvalidInput
from domain.secret_types import ERASED
from infrastructure.executors.http import HttpExecutor
from infrastructure.executors.port import SubStepCall
from infrastructure.usecases.batches import validated_restaurant
from tests.api.conftest import BASE, Caller, restaurant

MakeServer = Callable[..., Awaitable[TestServer]]
UPLOAD = "/menus/{menuId}/upload-images"
ONE_SEGMENT = re.compile(r"/menus/([^/?#]*)/upload-images")
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))

DOTS = [".", "..", "...", "%2e", "%2E%2E", ".%2e", "%2e.", "./x", "a/../b", "../", "/.."]
PIECES = [".", "..", "/", "\\", "%", "%2e", "%2E", "%2f", "?", "#", ";", " ", "a", "é", "\u202e"]
NO_UTF8 = ["\ud800", "a\udfffb"]
IDS = (
    st.sampled_from(DOTS + NO_UTF8)
    | st.text(st.characters(), min_size=1, max_size=12)
    | st.lists(st.sampled_from(PIECES), min_size=1, max_size=5).map("".join)
)


def unsendable(menu_id: str) -> bool:
    """What no URL can carry as one segment naming it: a dot segment, or text with no UTF-8."""
    return menu_id in (".", "..") or any("\ud800" <= c <= "\udfff" for c in menu_id)


def upload_call(menu_id: str) -> SubStepCall:
    payload = {"menuId": menu_id, "images": []}
    return SubStepCall("job-1", "org-7", "uploadImages", UPLOAD, "job-1:uploadImages:1", 1, payload)


@pytest.fixture
async def recorder(aiohttp_server: MakeServer) -> AsyncIterator[tuple[HttpExecutor, list[str]]]:
    """An executor and the raw path of every request its server received, as sent."""
    received: list[str] = []

    @web.middleware
    async def answer(request: web.Request, handler: object) -> web.Response:
        received.append(request.raw_path)  # before routing: any path at all is recorded
        return web.json_response({"success": True})

    app = web.Application(middlewares=[answer])
    server = await aiohttp_server(app)
    executor = HttpExecutor(str(server.make_url("")))
    yield executor, received
    await executor.close()


class TestPathValues:
    @SETTINGS
    @given(menu_id=IDS)
    async def test_one_segment_naming_the_id_or_refused_with_no_call(
        self, recorder: tuple[HttpExecutor, list[str]], menu_id: str
    ) -> None:
        assume(menu_id != ERASED)  # what an erased field reads as: refused as erased data
        executor, received = recorder
        before = len(received)
        outcome = await executor.call(upload_call(menu_id))
        sent = received[before:]
        if outcome.ok:
            assert len(sent) == 1 and (segment := ONE_SEGMENT.fullmatch(sent[0])), sent
            assert unquote(segment[1], errors="strict") == menu_id
        else:
            assert sent == [] and not outcome.transient
            assert repr(menu_id) in (outcome.error or "")
        assert outcome.ok is not unsendable(menu_id)

    @pytest.mark.parametrize("menu_id", [".", ".."])
    async def test_a_dot_segment_is_a_permanent_failure_naming_it(
        self, recorder: tuple[HttpExecutor, list[str]], menu_id: str
    ) -> None:
        executor, received = recorder
        outcome = await executor.call(upload_call(menu_id))
        assert (outcome.ok, outcome.transient, received) == (False, False, [])
        assert f"menuId {menu_id!r} is a dot segment" in (outcome.error or "")


class TestCreatedBatches:
    @pytest.mark.parametrize("menu_id", [".", ".."])
    async def test_a_menu_id_no_path_can_carry_is_422_naming_the_field(
        self, org_a: Caller, menu_id: str
    ) -> None:
        body = {"name": "dots", "restaurants": [restaurant(menu={"menu_id": menu_id})]}
        status, answer = await org_a.post(BASE, json=body)
        assert status == 422, answer
        field = "restaurants[0].execution_config.menu.menu_id"
        assert any(e.startswith(f"{field}:") and "dot segment" in e for e in answer["errors"])

    @pytest.mark.parametrize("menu_id", ["...", "%2e%2e", "a/../b", "./x", "m 1", "é"])
    async def test_other_menu_ids_are_accepted(self, org_a: Caller, menu_id: str) -> None:
        batch = await org_a.new_batch(restaurant(menu={"menu_id": menu_id}))
        assert batch["jobs"][0]["status"] == "pending"

    @SETTINGS
    @given(menu_id=IDS)
    def test_creation_refuses_exactly_what_no_path_can_carry(self, menu_id: str) -> None:
        new = {"name": "Buzz", "execution_config": {"menu": {"menu_id": menu_id}}}
        errors: list[str] = []
        try:
            validated_restaurant(new, 0)
        except InvalidInput as exc:
            errors = exc.errors
        # Text with no UTF-8 is refused wherever it is, before its shape is looked at (as a
        # NUL is, which a path could carry: it is not counted here).
        named = "restaurants[0].execution_config.menu.menu_id: "
        surrogates = any("\ud800" <= c <= "\udfff" for c in menu_id)
        expected = named + ("not text" if surrogates else "must be one URL path segment")
        assert any(e.startswith(expected) for e in errors) is unsendable(menu_id)
