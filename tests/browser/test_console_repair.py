"""A day's repair work in the console: bulk resume, and a job page that agrees with itself."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LAPTOP, PHONE, ConsoleWatch
from tests.browser.stack import Stack
from tests.browser.test_console import (
    RUN_SECONDS,
    counter,
    create_batch,
    job_id_of,
    job_row,
    node,
    sign_in,
)

pytestmark = pytest.mark.slow


def band(page: Page, phase: str) -> str:
    label = page.locator(".graph .band-label").filter(has_text=re.compile(f"Phase {phase[-1]}"))
    return str(label.get_attribute("data-status"))


def test_failed_jobs_are_resumed_together_from_a_selection(
    page: Page, stack: Stack, tmp_path: Path, artifacts: Path
) -> None:
    sign_in(page, stack)
    create_batch(page, tmp_path, "Bulk resume", ["Kea", "Tui", "Weka"])
    kea, tui = job_id_of(page, "Kea"), job_id_of(page, "Tui")
    stack.set_faults(
        [{"kind": "bad_request", "endpoint": "menuImport", "job": j} for j in (kea, tui)]
    )
    page.get_by_role("button", name="Start Step 6 for all jobs").click()
    for name, status in (("Kea", "Failed"), ("Tui", "Failed"), ("Weka", "Completed")):
        expect(job_row(page, name)).to_contain_text(status, timeout=RUN_SECONDS)
    expect(page.get_by_role("button", name="Start Step 6 for all jobs")).to_be_disabled()
    stack.set_faults([])

    page.get_by_label("Select every job shown").check()
    for name in ("Kea", "Tui", "Weka"):
        expect(page.get_by_label(f"Select {name}")).to_be_checked()
    start = page.get_by_role("button", name="Start selected")
    expect(start).to_be_disabled()
    expect(start).to_have_attribute("title", re.compile("already started"))
    page.screenshot(path=artifacts / "console-bulk-selected.png", full_page=True)
    page.get_by_role("button", name="Resume selected (2)").click()
    for name in ("Kea", "Tui"):
        expect(job_row(page, name)).to_contain_text("Completed", timeout=RUN_SECONDS)
    expect(counter(page, "Completed")).to_contain_text("3")
    expect(page.get_by_label("Select Kea")).not_to_be_checked()
    expect(page.locator(".bar-percent")).to_have_text("100%")


def run_with_its_menu_import_refused(page: Page, stack: Stack, name: str) -> str:
    """Start Step 6 with the API refusing the menu import of job `name`, until that job has
    failed (the fault is then lifted); the job's id."""
    job = job_id_of(page, name)
    stack.set_faults([{"kind": "bad_request", "endpoint": "menuImport", "job": job}])
    page.get_by_role("button", name="Start Step 6 for all jobs").click()
    expect(job_row(page, name)).to_contain_text("Failed", timeout=RUN_SECONDS)
    stack.set_faults([])
    return job


def test_after_a_reset_every_part_of_the_job_page_agrees(
    page: Page, stack: Stack, tmp_path: Path, artifacts: Path
) -> None:
    sign_in(page, stack)
    create_batch(page, tmp_path, "Agreeing page", ["Moa"])
    moa = run_with_its_menu_import_refused(page, stack, "Moa")
    page.set_viewport_size(PHONE)
    error = job_row(page, "Moa").locator(".cell-error")
    expect(error).to_contain_text("Validation failed")
    expect(error).to_be_in_viewport()
    page.screenshot(path=artifacts / "console-batch-phone.png", full_page=True)
    page.set_viewport_size(LAPTOP)
    page.get_by_role("link", name="Moa").click()

    expect(page.locator(".job-id")).to_contain_text(moa)
    expect(page.locator(".head-status")).to_contain_text("Failed")
    expect(node(page, "menuImport")).to_contain_text("Failed")
    assert (band(page, "phase2"), band(page, "phase3"), band(page, "phase4")) == (
        "failed",
        "blocked",
        "blocked",
    ), "a phase whose sub-steps are only blocked did not fail"
    expect(page.locator(".event-type").filter(has_text="Step 6 started")).to_have_count(1)

    node(page, "menuImport").click()
    editor = page.get_by_role("dialog", name="Sub-step menuImport")
    expect(editor.get_by_label("Mark failed")).to_be_disabled()
    editor.get_by_label("Reset to pending").check()
    editor.get_by_label("Reason (required)").fill("menu fixed upstream")
    expect(editor.locator(".dry-run-ok")).to_contain_text("Would reset")
    editor.get_by_role("button", name="Apply").click()
    expect(editor).to_be_hidden()

    expect(page.locator(".head-status")).to_contain_text("no sub-step is failed now")
    for key in ("menuImport", "optionSets", "itemTags"):
        expect(node(page, key)).to_contain_text("Pending")
    node(page, "menuImport").hover()
    expect(page.locator(".hovercard")).to_contain_text("Pending")
    expect(page.locator(".hovercard")).not_to_contain_text("Failed")
    assert [band(page, p) for p in ("phase1", "phase2", "phase3", "phase4")] == [
        "completed",
        "pending",
        "pending",
        "pending",
    ]
    resume = page.get_by_role("button", name="Resume")
    expect(resume).to_be_enabled()
    cancel = page.get_by_role("button", name="Cancel")
    expect(cancel).to_have_attribute("title", "The job is failed: nothing to cancel.")
    expect(page.get_by_role("button", name="Retry now")).to_have_attribute(
        "title", "No sub-step is waiting to retry."
    )
    expect(page.locator('.event[data-type="SubStepReset"]')).to_contain_text("Sub-step reset")
    page.screenshot(path=artifacts / "console-job-after-reset.png", full_page=True)


def test_an_edit_whose_answer_was_lost_is_made_once_when_applied_again(
    page: Page, stack: Stack, tmp_path: Path, watch: ConsoleWatch
) -> None:
    """The server resets the sub-step but the answer never reaches the browser; the operator
    clicks Apply again and is told it is done, and the job's log holds one reset."""
    sign_in(page, stack)
    create_batch(page, tmp_path, "Lost edit", ["Tui"])
    tui = run_with_its_menu_import_refused(page, stack, "Tui")
    page.get_by_role("link", name="Tui").click()
    lost: list[int] = []

    def lose_the_first_answer(route: Any) -> None:
        applying = route.request.method == "POST" and "idempotency-key" in route.request.headers
        if not applying or lost:  # the dry runs, which send no key, pass
            route.continue_()
            return
        lost.append(route.fetch().status)
        route.abort("connectionreset")

    page.route("**/steps/6/sub-steps/menuImport/reset", lose_the_first_answer)
    node(page, "menuImport").click()
    editor = page.get_by_role("dialog", name="Sub-step menuImport")
    editor.get_by_label("Reset to pending").check()
    editor.get_by_label("Reason (required)").fill("menu fixed upstream")
    expect(editor.locator(".dry-run-ok")).to_contain_text("Would reset")
    editor.get_by_role("button", name="Apply").click()
    expect(editor.get_by_role("alert")).to_contain_text("Cannot reach")
    editor.get_by_role("button", name="Apply").click()
    expect(editor).to_be_hidden()
    assert lost == [200]
    expect(node(page, "menuImport")).to_contain_text("Pending")
    events = page.request.get(
        f"{stack.url}/api/registration-batches/jobs/{tui}/events?limit=1000",
        headers={"Authorization": f"Bearer {stack.key}"},
    ).json()["events"]
    assert [e["type"] for e in events].count("SubStepReset") == 1
    assert not [e for e in events if e["type"] == "EditRefused"]
    reset = [p for p in watch.problems if "ERR_CONNECTION_RESET" in p]
    assert len(reset) == 1  # the lost answer, and nothing else
    watch.problems.remove(reset[0])


def test_an_edit_from_a_page_another_operator_made_stale_is_refused_and_changes_nothing(
    page: Page, stack: Stack, tmp_path: Path
) -> None:
    """Two operators at one failed job: the other resets menuImport while this one's editor
    is open on the page from before. The preview and Apply say, in the API's words, that the
    job has changed; nothing more is recorded than the other operator's reset."""
    sign_in(page, stack)
    create_batch(page, tmp_path, "Stale page", ["Kiwi"])
    kiwi = run_with_its_menu_import_refused(page, stack, "Kiwi")
    page.get_by_role("link", name="Kiwi").click()
    expect(node(page, "menuImport")).to_contain_text("Failed")
    node(page, "menuImport").click()
    editor = page.get_by_role("dialog", name="Sub-step menuImport")
    editor.get_by_label("Reset to pending").check()
    job = f"{stack.url}/api/registration-batches/jobs/{kiwi}"
    auth = {"Authorization": f"Bearer {stack.key}"}
    other = page.request.post(
        f"{job}/steps/6/sub-steps/menuImport/reset",
        headers=auth,
        data={"reason": "fixed by the other operator"},
    )
    assert other.status == 200, other.text()
    editor.get_by_label("Reason (required)").fill("menu fixed upstream")
    expect(editor.locator(".dry-run-refused")).to_contain_text("has changed since it was read")
    editor.get_by_role("button", name="Apply").click()
    expect(editor.get_by_role("alert")).to_contain_text("has changed since it was read")
    events = page.request.get(f"{job}/events?limit=1000", headers=auth).json()["events"]
    resets = [e for e in events if e["type"] == "SubStepReset"]
    assert len(resets) == 1 and "other operator" in str(resets[0])
    assert not [e for e in events if e["type"] == "EditRefused"]
