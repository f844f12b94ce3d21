"""The console's static routes alone, served from a background thread for the smoke tests."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

from api.console import add_console_routes

START_SECONDS = 10.0


class _Server:
    """An aiohttp site whose event loop lives, start to finish, in its own thread."""

    def __init__(self) -> None:
        self.url = ""
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stopping: asyncio.Event | None = None

    async def serve(self) -> None:
        app = web.Application()
        add_console_routes(app)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        host, port = runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        self.loop, self.stopping = asyncio.get_running_loop(), asyncio.Event()
        self.ready.set()
        try:
            await self.stopping.wait()
        finally:
            await runner.cleanup()

    def stop(self) -> None:
        if self.loop is not None and self.stopping is not None:
            self.loop.call_soon_threadsafe(self.stopping.set)


@contextmanager
def serving_console() -> Iterator[str]:
    """Serve only the console on a free loopback port; yields its base URL."""
    server = _Server()
    thread = threading.Thread(target=asyncio.run, args=(server.serve(),), daemon=True)
    thread.start()
    if not server.ready.wait(START_SECONDS):
        raise RuntimeError("the console server did not start")
    try:
        yield server.url
    finally:
        server.stop()
        thread.join(timeout=10)
