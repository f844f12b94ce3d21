"""Timeline entries: every event type described, actors and reasons kept, secrets hidden."""

from __future__ import annotations

from projections.folds.timeline import DESCRIPTIONS, timeline_entry
from tests.unit.test_folds import LEGACY, REASON, Story, failed_at_menu_import


def every_event_type() -> list[dict]:
    story = failed_at_menu_import().do(lambda j: j.resume("user:u-2"))
    story.do(lambda j: j.claim("worker-2")).do(lambda j: j.start_sub_step("menuImport"))
    story.do(lambda j: j.schedule_retry("menuImport", "HTTP 503", delay=1.0))
    story.do(lambda j: j.retry_now("menuImport", "user:u-2")).do(
        lambda j: j.start_sub_step("menuImport")
    )
    story.do(lambda j: j.claim("worker-3"))
    story.do(lambda j: j.cancel("user:u-2", "wrong menu"))
    story.edit("menuImport", "failed").edit("restaurantRegistration", "pending")
    story.do(lambda j: j.refuse_edit("user:u-2", {"sub_step": "itemTags"}, ["it is blocked"]))
    story.do(lambda j: j.resume("user:u-2")).succeed("restaurantRegistration", "menuImport")
    story.succeed("websiteConfig", "servicesConfig", "paymentConfig", "syncOnboardingUser")
    story.succeed("optionSets", "itemTags").do(lambda j: j.finish())
    legacy = Story().do(lambda j: j.import_legacy(LEGACY, None, "user:importer"))
    skipping = Story({}).running()
    # The menu rule's skips taken back: the menu import, skipped by hand, marked failed.
    reopening = failed_at_menu_import().edit("menuImport", "skipped").edit("menuImport", "failed")
    stories = (story, legacy, skipping, reopening)
    return [timeline_entry(e) for s in stories for e in s.events]


def test_every_job_event_type_has_its_own_description() -> None:
    entries = every_event_type()
    assert {e["type"] for e in entries} == set(DESCRIPTIONS)
    assert all(e["description"] != e["type"] for e in entries)


def test_versions_follow_the_job_one_by_one() -> None:
    story = failed_at_menu_import()
    versions = [timeline_entry(e)["version"] for e in story.events]
    assert versions == list(range(1, len(story.events) + 1))


def test_the_first_entry_is_job_created_without_the_password() -> None:
    entry = timeline_entry(Story().events[0])
    assert entry["type"] == "JobCreated"
    assert entry["actor"] == "user:u-1"
    assert entry["data"]["execution_config"]["account"]["password"] == "***"
    assert "s3cret-pass" not in str(entry)


def test_a_manual_edit_names_who_why_and_what_changed() -> None:
    story = failed_at_menu_import().edit("menuImport", "skipped")
    entry = next(timeline_entry(e) for e in story.events if type(e).__name__ == "ManualStatusSet")
    assert (entry["actor"], entry["reason"]) == ("user:u-2", REASON)
    assert entry["description"] == "menuImport set from failed to skipped by hand"
    assert entry["data"]["previous_status"] == "failed"


def test_a_reset_lists_its_cascade() -> None:
    story = Story().running().finish_all().edit("menuImport", "pending")
    entry = next(timeline_entry(e) for e in story.events if type(e).__name__ == "SubStepReset")
    assert entry["description"] == "menuImport reset to pending with optionSets, itemTags"
    assert [c["sub_step"] for c in entry["data"]["cascade"]] == [
        "menuImport",
        "optionSets",
        "itemTags",
    ]


def test_engine_events_are_by_the_engine_at_an_iso_time() -> None:
    entry = timeline_entry(Story().running().events[-1])
    assert (entry["type"], entry["actor"]) == ("Claimed", "engine")
    assert entry["at"].endswith("+00:00")
