"""The console in Chromium against `regflow serve` and the simulator: repair, resume, audit."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from tests import kit
from tests.browser.conftest import ConsoleWatch
from tests.browser.stack import Stack

pytestmark = pytest.mark.slow
RUN_SECONDS = 30_000


def restaurant(name: str) -> dict[str, Any]:
    return kit.restaurant(name, f"r-{name.lower()}")


def sign_in(page: Page, stack: Stack) -> None:
    page.goto(stack.url)
    page.get_by_label("API key or token").fill(stack.key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Batches", exact=True)).to_be_visible()


def create_batch(page: Page, tmp_path: Path, name: str, restaurants: list[str]) -> None:
    upload = tmp_path / f"{name}.json"
    upload.write_text(
        json.dumps({"name": name, "restaurants": [restaurant(r) for r in restaurants]})
    )
    page.get_by_label("Restaurants file (JSON)").set_input_files(upload)
    page.get_by_role("button", name="Create batch").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.locator("table.jobs tbody tr")).to_have_count(len(restaurants))


def job_row(page: Page, name: str) -> Locator:
    return page.locator("table.jobs tbody tr").filter(has=page.get_by_role("link", name=name))


def counter(page: Page, label: str) -> Locator:
    return page.locator(".counter").filter(has_text=re.compile(f"^\\d+{label}$"))


def node(page: Page, key: str) -> Locator:
    return page.locator(f'.graph .node[data-key="{key}"]')


def job_id_of(page: Page, name: str) -> str:
    href = page.get_by_role("link", name=name).get_attribute("href")
    assert href is not None
    return href.rsplit("/", 1)[-1]


def test_a_wrong_key_is_refused(page: Page, stack: Stack) -> None:
    page.goto(stack.url)
    page.get_by_label("API key or token").fill("not-the-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not accepted")


def test_starting_selected_jobs_leaves_the_others_pending(
    page: Page, stack: Stack, tmp_path: Path
) -> None:
    sign_in(page, stack)
    create_batch(page, tmp_path, "Selected start", ["Alpha", "Beta"])
    page.get_by_label("Select Alpha").check()
    page.get_by_role("button", name="Start selected (1)").click()
    expect(job_row(page, "Alpha")).to_contain_text("Completed", timeout=RUN_SECONDS)
    expect(job_row(page, "Beta")).to_contain_text("Pending")
    expect(counter(page, "Completed")).to_contain_text("1")
    expect(counter(page, "Pending")).to_contain_text("1")


def test_an_operator_repairs_a_job_that_failed_on_a_permanent_error(
    page: Page, stack: Stack, tmp_path: Path, artifacts: Path
) -> None:
    sign_in(page, stack)
    create_batch(page, tmp_path, "Auckland week 48", ["Buzz", "Fizz"])
    buzz = job_id_of(page, "Buzz")
    stack.set_faults([{"kind": "bad_request", "endpoint": "menuImport", "job": buzz}])

    page.get_by_role("button", name="Start Step 6 for all jobs").click()
    expect(job_row(page, "Buzz")).to_contain_text("Failed", timeout=RUN_SECONDS)
    expect(job_row(page, "Fizz")).to_contain_text("Completed", timeout=RUN_SECONDS)
    expect(job_row(page, "Buzz")).to_contain_text("Validation failed")
    expect(counter(page, "Failed")).to_contain_text("1")
    page.get_by_role("button", name=re.compile("^Failed")).click()
    expect(page.locator("table.jobs tbody tr")).to_have_count(1)
    page.screenshot(path=artifacts / "console-batch-failed.png", full_page=True)

    page.get_by_role("link", name="Buzz").click()
    expect(node(page, "menuImport")).to_contain_text("Failed")
    expect(node(page, "optionSets")).to_contain_text("Blocked")
    expect(node(page, "itemTags")).to_contain_text("Blocked")
    expect(node(page, "servicesConfig")).to_contain_text("Completed")
    page.screenshot(path=artifacts / "console-job-failed.png", full_page=True)

    node(page, "optionSets").click()
    editor = page.get_by_role("dialog", name="Sub-step optionSets")
    expect(editor.locator(".relations").first).to_contain_text("menuImport")
    refusal = "Cannot mark optionSets as completed: menuImport is failed"
    expect(editor.get_by_label("Mark completed")).to_be_disabled()
    disallowed = editor.locator(".radio-disallowed").filter(has_text="Mark completed")
    expect(disallowed).to_contain_text(refusal)
    expect(editor.get_by_role("button", name="Apply")).to_be_disabled()
    expect(editor.locator("#apply-why")).to_contain_text("Choose a status first")
    editor.get_by_label("Mark skipped").check()
    expect(editor.get_by_text("Give a reason to preview the change")).to_be_visible()
    page.screenshot(path=artifacts / "console-editor-disallowed.png")
    editor.get_by_role("button", name="Close", exact=True).click()

    stack.set_faults([])
    node(page, "restaurantRegistration").click()
    editor = page.get_by_role("dialog", name="Sub-step restaurantRegistration")
    editor.get_by_label("Reason (required)").fill("menu fixed upstream, register again")
    editor.get_by_label("Reset to pending").check()
    cascade = "restaurantRegistration, websiteConfig, servicesConfig, paymentConfig, menuImport"
    expect(editor.locator(".dry-run-ok")).to_contain_text(f"Would reset: {cascade}")
    editor.get_by_role("button", name="Apply").click()
    expect(editor).to_be_hidden()
    for key in ("restaurantRegistration", "servicesConfig", "menuImport", "optionSets"):
        expect(node(page, key)).to_contain_text("Pending")

    page.get_by_role("button", name="Resume").click()
    confirm = page.get_by_role("dialog", name="Resume this job?")
    expect(confirm).to_contain_text("last complete phase Phase 1; resumes in Phase 2 with")
    confirm.get_by_role("button", name="Resume").click()
    expect(page.locator(".head-status")).to_contain_text("Completed", timeout=RUN_SECONDS)
    expect(page.locator('.graph .node[data-status="completed"]')).to_have_count(12)

    reset = page.locator('.event[data-type="SubStepReset"]')
    expect(reset).to_contain_text("menu fixed upstream, register again")
    expect(reset).to_contain_text("key:org-console")
    page.screenshot(path=artifacts / "console-job-completed.png", full_page=True)

    failed_event = page.locator('.event[data-type="SubStepFailed"]').first
    failed_event.get_by_role("button", name=re.compile("State at this point")).click()
    past = page.get_by_role("dialog", name=re.compile("State at version"))
    expect(past.locator('.node[data-key="menuImport"]')).to_contain_text("Failed")
    past.get_by_role("button", name="Close dialog").click()

    page.get_by_role("navigation", name="Breadcrumb").get_by_role(
        "link", name="Auckland week 48"
    ).click()
    expect(counter(page, "Completed")).to_contain_text("2")
    expect(counter(page, "Failed")).to_contain_text("0")
    expect(page.locator(".head-status")).to_contain_text("Completed")
    page.screenshot(path=artifacts / "console-batch-completed.png", full_page=True)


def test_a_job_page_survives_a_reload_and_a_direct_link(
    page: Page, stack: Stack, tmp_path: Path
) -> None:
    sign_in(page, stack)
    create_batch(page, tmp_path, "Direct links", ["Gamma"])
    job = job_id_of(page, "Gamma")
    page.goto(f"{stack.url}/jobs/{job}")
    expect(page.get_by_role("heading", name="Gamma")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Gamma")).to_be_visible()
    expect(node(page, "menuImport")).to_contain_text("Pending")


def test_a_create_whose_answer_was_lost_makes_one_batch_when_clicked_again(
    page: Page, stack: Stack, tmp_path: Path, watch: ConsoleWatch
) -> None:
    """The server makes the batch but the answer never reaches the browser; the operator
    clicks Create again and lands on that batch, and no second batch exists."""
    sign_in(page, stack)
    lost: list[str] = []

    def lose_the_first_answer(route: Any) -> None:
        if route.request.method != "POST" or lost:
            route.continue_()
            return
        answer = route.fetch()
        lost.append(answer.json()["batch"]["id"])
        route.abort("connectionreset")

    page.route("**/api/registration-batches", lose_the_first_answer)
    name = "Lost answer"
    upload = tmp_path / "lost.json"
    upload.write_text(json.dumps({"name": name, "restaurants": [restaurant("Solo")]}))
    page.get_by_label("Restaurants file (JSON)").set_input_files(upload)
    page.get_by_role("button", name="Create batch").click()
    expect(page.get_by_role("alert")).to_contain_text("Cannot reach")
    page.get_by_role("button", name="Create batch").click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    assert lost and page.url.endswith(lost[0])
    listed = page.request.get(
        f"{stack.url}/api/registration-batches?limit=500",
        headers={"Authorization": f"Bearer {stack.key}"},
    ).json()
    assert [b["id"] for b in listed["batches"] if b["name"] == name] == lost
    reset = [p for p in watch.problems if "ERR_CONNECTION_RESET" in p]
    assert len(reset) == 1  # the lost answer, and nothing else
    watch.problems.remove(reset[0])
