"""Smoke tests of the console's pages against a canned API: layout, forms, editor, timeline."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.request import urlopen

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import PHONE
from tests.browser.console_server import serving_console
from tests.browser.fake_api import BATCH_ID, JOB_ID, TOKEN, FakeApi

pytestmark = pytest.mark.slow
JOBS = "/api/registration-batches/jobs"


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serving_console() as url:
        yield url


@pytest.fixture
def fake(page: Page) -> FakeApi:
    api = FakeApi()
    page.route(re.compile(r".*/api/registration-batches.*"), api)
    return api


def sign_in(page: Page, base_url: str, path: str = "/") -> None:
    page.goto(base_url + path)
    page.get_by_label("API key or token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()


class TestServing:
    def test_client_routes_answer_the_console_page(self, base_url: str) -> None:
        for path in ("/", f"/batches/{BATCH_ID}", f"/jobs/{JOB_ID}"):
            with urlopen(base_url + path) as answer:
                assert answer.status == 200
                assert "default-src 'self'" in answer.headers["Content-Security-Policy"]
                assert b'<script type="module" src="/static/js/main.js">' in answer.read()

    def test_assets_are_served_under_static(self, base_url: str) -> None:
        with urlopen(base_url + "/static/js/main.js") as answer:
            assert "javascript" in answer.headers["Content-Type"]


class TestSignIn:
    def test_an_unknown_key_is_refused_with_a_message(
        self, page: Page, base_url: str, fake: FakeApi
    ) -> None:
        page.goto(base_url)
        page.get_by_label("API key or token").fill("wrong")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("not accepted")

    def test_a_good_key_opens_the_batches_page(
        self, page: Page, base_url: str, fake: FakeApi, artifacts: Path
    ) -> None:
        page.goto(base_url)
        expect(page.get_by_label("API key or token")).to_be_focused()
        page.screenshot(path=artifacts / "static-sign-in.png")
        sign_in(page, base_url)
        expect(page.get_by_role("heading", name="Batches", exact=True)).to_be_visible()
        expect(page.get_by_role("link", name="Auckland week 48")).to_be_visible()
        expect(page.get_by_role("img", name=re.compile("67% done"))).to_be_visible()
        page.screenshot(path=artifacts / "static-batches.png")

    def test_the_key_is_forgotten_with_its_tab(
        self, page: Page, base_url: str, fake: FakeApi
    ) -> None:
        """The sign-in page says the key is kept only in this tab and forgotten when it is
        closed: another tab of the same browser, or one opened after closing it, asks again."""
        sign_in(page, base_url)
        expect(page.get_by_role("heading", name="Batches", exact=True)).to_be_visible()
        other = page.context.new_page()
        other.route(re.compile(r".*/api/registration-batches.*"), fake)
        other.goto(base_url)
        expect(other.get_by_label("API key or token")).to_be_visible()
        page.close()
        reopened = other.context.new_page()
        reopened.route(re.compile(r".*/api/registration-batches.*"), fake)
        reopened.goto(base_url)
        expect(reopened.get_by_label("API key or token")).to_be_visible()

    def test_a_deep_link_returns_there_after_signing_in(
        self, page: Page, base_url: str, fake: FakeApi
    ) -> None:
        sign_in(page, base_url, f"/jobs/{JOB_ID}")
        expect(page.get_by_role("heading", name="Buzz")).to_be_visible()


class TestBatches:
    def test_a_batch_is_created_from_a_file(
        self, page: Page, base_url: str, fake: FakeApi, tmp_path: Path
    ) -> None:
        upload = tmp_path / "week49.json"
        upload.write_text(
            json.dumps({"name": "Week 49", "restaurants": [{"name": "A"}, {"name": "B"}]})
        )
        sign_in(page, base_url)
        page.get_by_label("Restaurants file (JSON)").set_input_files(upload)
        expect(page.get_by_text("2 restaurants read from week49.json")).to_be_visible()
        expect(page.get_by_label("Batch name")).to_have_value("Week 49")
        page.get_by_role("button", name="Create batch").click()
        expect(page).to_have_url(re.compile(f"/batches/{BATCH_ID}$"))
        assert (
            "POST",
            "/api/registration-batches",
            {"name": "Week 49", "restaurants": [{"name": "A"}, {"name": "B"}]},
        ) in fake.sent

    def test_a_bare_list_needs_a_name(
        self, page: Page, base_url: str, fake: FakeApi, tmp_path: Path
    ) -> None:
        upload = tmp_path / "list.json"
        upload.write_text(json.dumps([{"name": "A"}]))
        sign_in(page, base_url)
        page.get_by_label("Restaurants file (JSON)").set_input_files(upload)
        page.get_by_role("button", name="Create batch").click()
        expect(page.get_by_role("alert")).to_contain_text("Give the batch a name")

    def test_filters_narrow_the_jobs_table(
        self, page: Page, base_url: str, fake: FakeApi, artifacts: Path
    ) -> None:
        sign_in(page, base_url, f"/batches/{BATCH_ID}")
        rows = page.locator("table.jobs tbody tr")
        expect(rows).to_have_count(3)
        page.screenshot(path=artifacts / "static-batch.png", full_page=True)
        page.get_by_role("button", name=re.compile("^Blocked")).click()
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Buzz")
        page.get_by_role("button", name=re.compile("^Running")).click()
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Fizz")

    def test_the_bar_and_the_capacity_note_speak_for_the_whole_batch(
        self, page: Page, base_url: str, fake: FakeApi
    ) -> None:
        sign_in(page, base_url, f"/batches/{BATCH_ID}")
        expect(page.locator("table.jobs tbody tr")).to_have_count(3)
        parts = page.locator(".batch-bar .bar-part")
        expect(parts).to_have_count(6)
        shown = {p.get_attribute("data-part"): p.get_attribute("data-count") for p in parts.all()}
        assert shown == {
            "completed": "21",
            "skipped": "4",
            "failed": "3",
            "running": "2",
            "retrying": "1",
            "pending": "5",
        }
        bar = page.locator(".batch-bar .bar")
        expect(bar).to_have_attribute("aria-label", re.compile(r"^77% of sub-steps settled"))
        expect(page.locator(".capacity-note")).to_have_text(
            "2 jobs are waiting for registration API capacity (flow control)."
        )

    def test_selected_jobs_are_started_or_resumed_by_their_status(
        self, page: Page, base_url: str, fake: FakeApi
    ) -> None:
        sign_in(page, base_url, f"/batches/{BATCH_ID}")
        page.get_by_label("Select Fizz").check()
        start = page.get_by_role("button", name="Start selected")
        expect(start).to_be_disabled()
        expect(start).to_have_attribute("title", re.compile("already started"))
        page.get_by_label("Select Buzz").check()
        page.get_by_role("button", name="Resume selected (1)").click()
        expect(page.get_by_text("Resumed 1 job.")).to_be_visible()
        assert ("POST", f"/api/registration-batches/jobs/{JOB_ID}/resume-step-6", {}) in fake.sent
        assert not [s for s in fake.sent if s[1].endswith("/step-6/start")]


class TestJob:
    def test_the_graph_shows_every_sub_step_with_a_status_label(
        self, page: Page, base_url: str, fake: FakeApi, artifacts: Path
    ) -> None:
        sign_in(page, base_url, f"/jobs/{JOB_ID}")
        nodes = page.locator(".graph .node")
        expect(nodes).to_have_count(12)
        expect(page.locator(".graph path.edge")).to_have_count(10)
        expect(page.locator('.node[data-key="menuImport"]')).to_contain_text("Failed")
        expect(page.locator('.node[data-key="optionSets"]')).to_contain_text("Blocked")
        expect(page.locator('.node[data-key="paymentConfig"]')).to_contain_text("Retrying")
        page.locator('.node[data-key="menuImport"]').hover()
        expect(page.get_by_role("tooltip")).to_contain_text("Validation failed")
        page.screenshot(path=artifacts / "static-job.png", full_page=True)

    def test_an_invalid_completion_shows_the_api_errors_verbatim(
        self, page: Page, base_url: str, fake: FakeApi, artifacts: Path
    ) -> None:
        sign_in(page, base_url, f"/jobs/{JOB_ID}")
        page.locator('.node[data-key="optionSets"]').click()
        dialog = page.get_by_role("dialog")
        expect(dialog.get_by_text("menuImport").first).to_be_visible()
        expect(dialog.get_by_label("Mark completed")).to_be_disabled()
        expect(
            dialog.locator(".radio-disallowed").filter(has_text="Mark completed")
        ).to_contain_text(
            "Not allowed now: Cannot mark optionSets as completed: menuImport is failed"
        )
        page.screenshot(path=artifacts / "static-editor.png")

    def test_a_reset_shows_its_cascade_before_applying(
        self, page: Page, base_url: str, fake: FakeApi
    ) -> None:
        sign_in(page, base_url, f"/jobs/{JOB_ID}")
        page.locator('.node[data-key="menuImport"]').click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Reset to pending").check()
        expect(dialog.locator(".dry-run-ok")).to_contain_text("menuImport, optionSets, itemTags")
        expect(dialog.get_by_role("button", name="Apply")).to_be_disabled()
        dialog.get_by_label("Reason (required)").fill("menu fixed upstream")
        dialog.get_by_role("button", name="Apply").click()
        expect(dialog).to_be_hidden()
        reset = [b for m, p, b in fake.sent if p.endswith("/menuImport/reset")]
        assert reset[-1] == {"dry_run": False, "reason": "menu fixed upstream"}

    def test_the_keyboard_opens_and_closes_the_editor(
        self, page: Page, base_url: str, fake: FakeApi
    ) -> None:
        sign_in(page, base_url, f"/jobs/{JOB_ID}")
        node = page.locator('.node[data-key="menuImport"]')
        expect(node).to_have_attribute("data-status", "failed")
        node.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("dialog")).to_be_visible()
        page.keyboard.press("Escape")
        expect(page.get_by_role("dialog")).to_be_hidden()
        expect(node).to_be_focused()

    def test_the_timeline_shows_actor_reason_and_a_past_state(
        self, page: Page, base_url: str, fake: FakeApi
    ) -> None:
        sign_in(page, base_url, f"/jobs/{JOB_ID}")
        refused = page.locator('.event[data-type="EditRefused"]')
        expect(refused).to_contain_text("user:ana")
        expect(refused).to_contain_text("imported by hand")
        page.locator('.event[data-version="2"]').get_by_role(
            "button", name=re.compile("State at this point")
        ).click()
        expect(page.get_by_role("dialog", name="State at version 2")).to_contain_text("Running")

    def test_retry_now_asks_for_every_waiting_sub_step(
        self, page: Page, base_url: str, fake: FakeApi
    ) -> None:
        sign_in(page, base_url, f"/jobs/{JOB_ID}")
        page.get_by_role("button", name="Retry now").click()
        expect(page.get_by_text("Trying paymentConfig again now.")).to_be_visible()
        sent = [(m, p) for m, p, _ in fake.sent if p.endswith("/retry-now")]
        assert sent == [("POST", f"{JOBS}/{JOB_ID}/steps/6/sub-steps/paymentConfig/retry-now")]

    def test_resume_shows_the_plan_before_it_resumes(
        self, page: Page, base_url: str, fake: FakeApi
    ) -> None:
        sign_in(page, base_url, f"/jobs/{JOB_ID}")
        page.get_by_role("button", name="Resume").click()
        confirm = page.get_by_role("dialog", name="Resume this job?")
        plan = "last complete phase Phase 1; resumes in Phase 2 with menuImport, optionSets."
        expect(confirm).to_contain_text(plan)
        assert ("POST", f"{JOBS}/{JOB_ID}/resume-step-6", {"dry_run": True}) in fake.sent
        confirm.get_by_role("button", name="Resume").click()
        expect(page.get_by_text(f"Resume initiated: {plan}")).to_be_visible()
        assert ("POST", f"{JOBS}/{JOB_ID}/resume-step-6", {}) in fake.sent

    def test_the_editor_of_a_running_job_says_why_it_is_closed(
        self, page: Page, base_url: str, fake: FakeApi
    ) -> None:
        fake.job_status = "in_progress"
        sign_in(page, base_url, f"/jobs/{JOB_ID}")
        page.locator('.node[data-key="menuImport"]').click()
        dialog = page.get_by_role("dialog", name="Sub-step menuImport")
        expect(dialog).to_contain_text("Editing is closed while the job is running.")
        expect(dialog.get_by_label("Mark completed")).to_have_count(0)

    def test_cancel_asks_first_and_sends_the_reason(
        self, page: Page, base_url: str, fake: FakeApi
    ) -> None:
        fake.job_status = "in_progress"
        sign_in(page, base_url, f"/jobs/{JOB_ID}")
        page.get_by_role("button", name="Cancel", exact=True).click()
        confirm = page.get_by_role("dialog", name="Cancel this job?")
        confirm.get_by_label("Reason (optional)").fill("restaurant withdrew")
        confirm.get_by_role("button", name="Cancel job").click()
        expect(page.get_by_text("Job cancelled.")).to_be_visible()
        assert ("POST", f"{JOBS}/{JOB_ID}/cancel", {"reason": "restaurant withdrew"}) in fake.sent


class TestPhone:
    def test_the_editor_fits_a_phone_screen(
        self, page: Page, base_url: str, fake: FakeApi, artifacts: Path
    ) -> None:
        page.set_viewport_size(PHONE)
        sign_in(page, base_url, f"/jobs/{JOB_ID}")
        page.locator('.node[data-key="menuImport"]').click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("Reset to pending").check()
        expect(dialog.locator(".dry-run-ok")).to_be_visible()
        page.screenshot(path=artifacts / "static-phone-editor.png")
        width = dialog.evaluate("d => d.scrollWidth - d.clientWidth")
        assert width <= 0

    @pytest.mark.parametrize("path", ["/", f"/batches/{BATCH_ID}", f"/jobs/{JOB_ID}"])
    def test_pages_fit_a_phone_screen(
        self, page: Page, base_url: str, fake: FakeApi, artifacts: Path, path: str
    ) -> None:
        page.set_viewport_size(PHONE)
        sign_in(page, base_url, path)
        expect(page.locator("main h1")).not_to_have_text("")
        expect(page.locator(".loading")).to_have_count(0)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        name = path.strip("/").split("/")[0] or "home"
        page.screenshot(path=artifacts / f"static-phone-{name}.png", full_page=True)
        assert overflow <= 0
