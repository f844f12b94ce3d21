"""Pushed progress: Server-Sent Events fed by one watcher per process, opened with a ticket."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientResponse

from api.auth import Caller as Who
from api.errors import Unauthorized
from api.progress_hub import ProgressHub, Subscription
from api.runtime import RUNTIME, build_app
from api.stream_tokens import TICKET_SECONDS, StreamTickets
from infrastructure.settings import Settings
from tests.api.conftest import BASE, Caller, Client, MakeClient, restaurant

DEADLINE = 30.0


@pytest.fixture
async def engine_client(aiohttp_client: MakeClient, api_settings: Settings) -> Client:
    update: dict[str, Any] = {"role": "all", "registration_api_url": "simulator"}
    return await aiohttp_client(build_app(api_settings.model_copy(update=update)))


@pytest.fixture
def caller(engine_client: Client, api_settings: Settings) -> Caller:
    org, key = (api_settings.api_keys or "").split(",")[0].split(":", 1)
    return Caller(engine_client, org, key)


async def next_event(stream: ClientResponse) -> dict[str, Any]:
    """The data of the next `progress` event (comments and other fields skipped)."""
    event, data = None, None
    while True:
        line = (await asyncio.wait_for(stream.content.readline(), DEADLINE)).decode()
        if not line:
            raise AssertionError("the stream ended")
        if line.startswith("event:"):
            event = line.split(":", 1)[1].strip()
        elif line.startswith("data:"):
            data = line.split(":", 1)[1].strip()
        elif line == "\n" and event == "progress" and data:
            return dict(json.loads(data))


class TestStream:
    async def test_counters_arrive_as_a_batch_runs(self, caller: Caller) -> None:
        # Calls take 0.2 s, so the batch runs for seconds: long enough for the watcher's
        # 0.25 s polls to see it between its first and last counters on any machine.
        simulator = caller.client.app[RUNTIME].simulator_url
        async with caller.client.session.put(
            f"{simulator}/_simulator/faults", json={"latency": {"*": 0.2}}
        ) as response:
            assert response.status == 200
        batch = await caller.new_batch(restaurant("A"), restaurant("B"), restaurant("C"))
        status, ticket = await caller.post(f"{BASE}/{batch['id']}/stream-token")
        assert status == 200 and ticket["expires_in"] == TICKET_SECONDS
        async with caller.client.get(ticket["url"]) as stream:
            assert stream.status == 200
            assert stream.content_type == "text/event-stream"
            seen = [await next_event(stream)]
            assert (seen[0]["total"], seen[0]["pending"]) == (3, 3)
            status, _ = await caller.post(f"{BASE}/{batch['id']}/step-6/start")
            assert status == 202
            while seen[-1]["status"] != "completed":
                seen.append(await next_event(stream))
        assert seen[-1]["completed"] == 3 and seen[-1]["percent"] == 100
        assert len(seen) > 2, "only the first and last counters were pushed"
        settled = [e["completed"] + e["failed"] for e in seen]
        assert settled == sorted(settled)
        assert all(a != b for a, b in zip(seen, seen[1:], strict=False))
        # Every event carries the sub-steps of all the batch's jobs, and they only move forward.
        assert len({sum(e["sub_steps"].values()) for e in seen}) == 1
        assert seen[0]["sub_steps"]["completed"] == 0
        done = [e["sub_steps"]["completed"] + e["sub_steps"]["skipped"] for e in seen]
        assert done == sorted(done) and done[-1] == sum(seen[-1]["sub_steps"].values())
        assert seen[-1]["waiting_for_capacity"] == 0

    async def test_a_bearer_token_opens_it_too(self, caller: Caller) -> None:
        batch = await caller.new_batch()
        headers = {"Authorization": f"Bearer {caller.key}"}
        async with caller.client.get(f"{BASE}/{batch['id']}/stream", headers=headers) as stream:
            assert (await next_event(stream))["total"] == 1

    async def test_without_credentials_it_is_401(self, caller: Caller) -> None:
        batch = await caller.new_batch()
        async with caller.client.get(f"{BASE}/{batch['id']}/stream") as response:
            assert response.status == 401

    async def test_a_ticket_opens_only_its_own_batch(self, caller: Caller) -> None:
        mine, other = await caller.new_batch(), await caller.new_batch()
        _, ticket = await caller.post(f"{BASE}/{mine['id']}/stream-token")
        path = f"{BASE}/{other['id']}/stream?stream_token={ticket['token']}"
        async with caller.client.get(path) as response:
            assert response.status == 401
        async with caller.client.get(f"{BASE}/{mine['id']}?stream_token={ticket['token']}") as r:
            assert r.status == 401

    async def test_another_organisation_gets_no_ticket(
        self, caller: Caller, api_settings: Settings
    ) -> None:
        batch = await caller.new_batch()
        org, key = (api_settings.api_keys or "").split(",")[1].split(":", 1)
        stranger = Caller(caller.client, org, key)
        status, _ = await stranger.post(f"{BASE}/{batch['id']}/stream-token")
        assert status == 404


class TestTickets:
    def tickets(self, now: list[float]) -> StreamTickets:
        settings = Settings(_env_file=None, api_keys="org:key")
        return StreamTickets(settings, clock=lambda: now[0])

    def test_a_ticket_expires(self) -> None:
        now = [1000.0]
        tickets = self.tickets(now)
        ticket = tickets.issue(Who("org", "key:org"), "/p")
        assert tickets.caller(ticket, "/p") == Who("org", "key:org")
        now[0] += TICKET_SECONDS + 1
        with pytest.raises(Unauthorized, match="expired"):
            tickets.caller(ticket, "/p")

    @pytest.mark.parametrize("damage", ["body", "signature", "empty"])
    def test_a_changed_ticket_is_refused(self, damage: str) -> None:
        tickets = self.tickets([0.0])
        body, _, signature = tickets.issue(Who("org", "key:org"), "/p").partition(".")
        forged = {
            "body": f"{body[:-2]}AA.{signature}",
            "signature": f"{body}.{signature[:-2]}AA",
            "empty": ".",
        }[damage]
        with pytest.raises(Unauthorized):
            tickets.caller(forged, "/p")

    def test_another_deployments_ticket_is_refused(self) -> None:
        ours = self.tickets([0.0])
        theirs = StreamTickets(Settings(_env_file=None, api_keys="org:other"), clock=lambda: 0.0)
        with pytest.raises(Unauthorized):
            ours.caller(theirs.issue(Who("org", "key:org"), "/p"), "/p")


class TestOneWatcher:
    async def test_many_subscribers_cost_one_read_per_change(self) -> None:
        state = {"position": 1, "completed": 0}
        summaries = 0

        async def position() -> int:
            return state["position"]

        async def summary(batch_id: str) -> dict[str, Any]:
            nonlocal summaries
            summaries += 1
            return {"id": batch_id, "status": "in_progress", "completed": state["completed"]}

        hub = ProgressHub(position, summary, tick=0.01)
        start = {"batch_id": "b", "completed": 0}
        async with subscribed(hub, 100, start) as subscriptions:
            for completed in (1, 2, 3):
                state["position"] += 5
                state["completed"] = completed
                got = await asyncio.wait_for(
                    asyncio.gather(*(s.next(DEADLINE) for s in subscriptions)), DEADLINE
                )
                assert {g["completed"] for g in got if g} == {completed}
        await hub.close()
        assert summaries <= 4


@contextlib.asynccontextmanager
async def subscribed(
    hub: ProgressHub, count: int, start: dict[str, Any]
) -> AsyncIterator[list[Subscription]]:
    async with contextlib.AsyncExitStack() as exits:
        yield [await exits.enter_async_context(hub.subscribe("b", start)) for _ in range(count)]


class TestClientsLeaving:
    async def test_clients_gone_before_or_during_their_stream_are_no_storage_fault(
        self, caller: Caller, caplog: pytest.LogCaptureFixture
    ) -> None:
        """Clients that close their connection at once (a burst of `timeout 3 curl`s, a page
        closed) leave the server writing to a closing transport: that is said as nothing,
        not as the store being unavailable (which once filled the log on each burst)."""
        batch = await caller.new_batch()
        server = caller.client.server
        request = (
            f"GET {BASE}/{batch['id']}/stream HTTP/1.1\r\nHost: {server.host}\r\n"
            f"Authorization: Bearer {caller.key}\r\n\r\n"
        ).encode()

        async def leave(after: float) -> None:
            _, writer = await asyncio.open_connection(server.host, server.port)
            writer.write(request)
            await writer.drain()
            await asyncio.sleep(after)
            writer.close()

        caplog.set_level(logging.DEBUG)
        await asyncio.gather(*(leave(after=0.0005 * i) for i in range(60)))
        await asyncio.sleep(1.0)  # every handler has met its closed connection
        status, _ = await caller.get(f"{BASE}/{batch['id']}")
        assert status == 200
        complaints = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert [r.getMessage() for r in complaints] == []
