"""The batch page at a few thousand rows against `regflow serve`: a page at a time, a search
that finds one restaurant among them, headers that stay in view while the table scrolls."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from urllib.request import Request, urlopen

import pytest
from playwright.sync_api import Page, expect

from tests.browser.stack import Stack

pytestmark = pytest.mark.slow
ROWS = 3_000


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
