"""The batch page at a few thousand rows against `regflow serve`: a page at a time, a search
that finds one restaurant among them, headers that stay in view while the table scrolls, and a
progress bar and capacity note that count the whole batch, not the page shown."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

import pytest
from playwright.sync_api import Page, expect

from tests.browser.stack import Stack, serving_stack

pytestmark = pytest.mark.slow
ROWS = 3_000


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One registration API call at a time, so started jobs queue for capacity."""
    with serving_stack(tmp_path_factory.mktemp("scale"), REGFLOW_API_MAX_IN_FLIGHT="1") as running:
        yield running


@pytest.fixture(scope="module")
def batch_id(stack: Stack) -> str:
    """A batch of ROWS restaurants, uploaded as a spreadsheet export."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "external_id", "account.email", "payment.enabled"])
    for i in range(ROWS):
        writer.writerow([f"Restaurant {i:05d}", f"ext-{i:05d}", f"o{i}@example.com", "false"])
    request = Request(
        f"{stack.url}/api/registration-batches?name=Scale%20drive&brief=1",
        data=out.getvalue().encode(),
        headers={"Authorization": f"Bearer {stack.key}", "Content-Type": "text/csv"},
        method="POST",
    )
    with urlopen(request, timeout=120) as answer:
        created = json.loads(answer.read())
    assert created["batch"]["total"] == ROWS
    return str(created["batch"]["id"])


def call(stack: Stack, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    request = Request(
        f"{stack.url}/api/registration-batches{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {stack.key}", "Content-Type": "application/json"},
        method=method,
    )
    with urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def open_batch(page: Page, stack: Stack, batch_id: str) -> None:
    page.goto(stack.url)
    page.get_by_label("API key or token").fill(stack.key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Batches", exact=True)).to_be_visible()
    page.goto(f"{stack.url}/batches/{batch_id}")
    expect(page.get_by_role("heading", name="Scale drive")).to_be_visible()


def test_the_table_shows_a_page_of_the_whole_batch(
    page: Page, stack: Stack, batch_id: str, artifacts: Path
) -> None:
    open_batch(page, stack, batch_id)
    rows = page.locator("table.jobs tbody tr")
    expect(rows).to_have_count(100)
    expect(page.locator(".pager-text")).to_have_text(f"1–100 of {ROWS}")
    page.get_by_role("button", name="Next").click()
    expect(rows.first).to_contain_text("Restaurant 00100")
    page.screenshot(path=artifacts / "batch-scale.png")


def test_search_finds_one_restaurant_among_thousands(
    page: Page, stack: Stack, batch_id: str
) -> None:
    open_batch(page, stack, batch_id)
    page.get_by_label("Search jobs").fill("restaurant 02718")
    rows = page.locator("table.jobs tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Restaurant 02718")
    page.get_by_label("Search jobs").fill("EXT-0271")
    expect(rows).to_have_count(10)
    page.get_by_label("Search jobs").fill("no such restaurant")
    expect(rows).to_have_count(0)


def test_headers_stay_in_view_while_the_table_scrolls(
    page: Page, stack: Stack, batch_id: str
) -> None:
    open_batch(page, stack, batch_id)
    expect(page.locator("table.jobs tbody tr")).to_have_count(100)
    box = page.locator(".jobs-scroll")
    box.evaluate("el => { el.scrollIntoView({ block: 'end' }); el.scrollTop = el.scrollHeight; }")
    expect(page.locator("table.jobs tbody tr").last).to_be_in_viewport()
    header = page.locator("table.jobs thead th").nth(1)
    scroller, head = box.bounding_box(), header.bounding_box()
    assert scroller is not None and head is not None
    assert box.evaluate("el => el.scrollTop") > 0
    assert scroller["y"] - 1 <= head["y"] <= scroller["y"] + 2
    expect(header).to_be_in_viewport()


def test_the_bar_and_the_capacity_note_count_jobs_beyond_the_page_shown(
    page: Page, stack: Stack, batch_id: str, artifacts: Path
) -> None:
    # Jobs far past the first page start, slowly and one call at a time: some wait for capacity.
    stack.set_faults([], latency={"*": 0.3})
    far = call(stack, "GET", f"/{batch_id}/jobs?limit=5&q=restaurant%20029")["jobs"]
    started = call(stack, "POST", f"/{batch_id}/step-6/start", {"job_ids": [j["id"] for j in far]})
    assert len(started["started"]) == 5
    open_batch(page, stack, batch_id)
    expect(page.locator("table.jobs tbody tr").first).to_contain_text("Restaurant 00000")
    note = page.locator(".capacity-note")
    expect(note).to_have_text(re.compile(r"^[1-5] jobs? (is|are) waiting for registration API"))
    done = page.locator(".batch-bar .bar-part[data-part='completed']")
    expect(done).not_to_have_attribute("data-count", "0")
    page.screenshot(path=artifacts / "batch-scale-running.png")
    # Once the five have finished, the bar shows every sub-step of all the batch's jobs.
    stack.set_faults([], latency={"*": 0.0})
    completed = page.locator(".counter-completed .counter-value")
    expect(completed).to_have_text("5", timeout=60_000)
    expect(note).to_be_hidden()
    whole = call(stack, "GET", f"/{batch_id}?brief=1")["batch"]["sub_steps"]
    assert sum(whole.values()) >= 5 * ROWS, whole
    parts = page.locator(".batch-bar .bar-part")
    shown = {
        p.get_attribute("data-part"): int(p.get_attribute("data-count") or 0) for p in parts.all()
    }
    assert shown == {
        "completed": whole["completed"],
        "skipped": whole["skipped"],
        "failed": whole["failed"] + whole["blocked"],
        "running": whole["in_progress"],
        "retrying": whole["retrying"],
        "pending": whole["pending"],
    }
    assert shown["completed"] > 0 and shown["pending"] > 0
