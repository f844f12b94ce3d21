"""Chromium through Playwright, a page that records console errors, and the artifacts folder."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.browser.stack import Stack, serving_stack

CHROMIUM = Path(os.environ.get("REGFLOW_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parents[1] / "artifacts"
LAPTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
API_REFUSAL = re.compile(r"the server responded with a status of (400|401|404|409|412|422)\b")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; missing, it fails the run in CI and skips elsewhere.

    Module-scoped: sync Playwright holds an event loop on the main thread while it runs,
    which async tests collected after these must not find there.
    """
    if not CHROMIUM.exists():
        message = f"Chromium not found at {CHROMIUM}: run tests/browser/install.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        yield launched
        launched.close()


class ConsoleWatch:
    """Uncaught errors and console errors of a page, except the API's refusals the UI shows."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def on_console(self, message: ConsoleMessage) -> None:
        url = str(message.location.get("url", ""))
        refusal = API_REFUSAL.search(message.text) and "/api/registration-batches" in url
        if message.type == "error" and not refusal:
            self.problems.append(f"console error: {message.text} ({url})")

    def on_page_error(self, error: Exception) -> None:
        self.problems.append(f"uncaught: {error}")


@pytest.fixture
def watch() -> ConsoleWatch:
    return ConsoleWatch()


@pytest.fixture
def page(browser: Browser, watch: ConsoleWatch) -> Iterator[Page]:
    """A fresh tab (own session storage) at laptop size; it must end without console errors."""
    context = browser.new_context(viewport=LAPTOP)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    tab.on("console", watch.on_console)
    tab.on("pageerror", watch.on_page_error)
    yield tab
    context.close()
    assert watch.problems == []


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The simulator and `regflow serve` for one test module, on a store of the module's own."""
    with serving_stack(tmp_path_factory.mktemp(request.module.__name__.rsplit(".")[-1])) as running:
        yield running
