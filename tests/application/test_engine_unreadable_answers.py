"""A 2xx answer regflow cannot read leaves the call's outcome unknown: the API may have done the
work, so every retry and a later resume call again under the same idempotency key, and the
registration API does the work once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from yarl import URL

from infrastructure.executors.simulator.calls import executions_per_key
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import FAST, running_engine, simulator, start_batch
from tests.kit import restaurants

MakeServer = Callable[..., Awaitable[TestServer]]
ACCOUNT = "/api/registration/register-account"
FORWARDED = ("Content-Type", "X-Organisation-ID", "Idempotency-Key", "X-Service-Key")


class Truncating:
    """The simulator behind a proxy that cuts the answers of one endpoint short, after the
    simulator did the work, as a connection dropped mid-answer or a broken proxy would."""

    def __init__(self, upstream: str, path: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.path = path
        self.truncating = True
        self.keys: list[str] = []

    def app(self) -> web.Application:
        application = web.Application()
        application.router.add_route("POST", "/{tail:.*}", self.handle)
        return application

    async def handle(self, request: web.Request) -> web.Response:
        headers = {name: request.headers[name] for name in FORWARDED if name in request.headers}
        url = URL(self.upstream + request.raw_path, encoded=True)
        async with (
            ClientSession() as session,
            session.post(url, data=await request.read(), headers=headers) as answer,
        ):
            status, text = answer.status, await answer.text()
        if request.path == self.path and self.truncating:
            self.keys.append(request.headers["Idempotency-Key"])
            return web.Response(status=200, text=text[: len(text) // 2])
        return web.Response(status=status, text=text, content_type="application/json")


async def test_an_unreadable_success_is_called_again_under_its_key_and_done_once(
    app: Registrations, settings: Settings, aiohttp_server: MakeServer
) -> None:
    [job_id] = start_batch(app, restaurants(1))
    key = f"{job_id}:cloudwaitressAccount:1"
    async with simulator() as (sim, url):
        proxy = Truncating(url, ACCOUNT)
        server = await aiohttp_server(proxy.app())
        async with running_engine(app, settings, str(server.make_url(""))) as engine:
            assert await engine.run_until_idle(30)
        account = app.job(job_id).sub_steps["cloudwaitressAccount"]
        assert (account.status, account.transient) == ("failed", True)
        assert proxy.keys.count(key) == FAST.max_attempts  # each retry under the same key

        plan, _, _ = app.resume(None, job_id, "user:test")
        assert "cloudwaitressAccount" not in plan.new_generations
        proxy.truncating = False
        async with running_engine(app, settings, str(server.make_url(""))) as engine:
            assert await engine.run_until_idle(30)
    assert app.job(job_id).status == "completed"
    executed = {k: n for k, n in executions_per_key(sim.calls).items() if k.startswith(job_id)}
    assert {k: n for k, n in executed.items() if ":cloudwaitressAccount:" in k} == {key: 1}
