"""The CLI's audit (`events`, `export`) and the API's timeline say each event's data alike."""

from __future__ import annotations

from api.cli.audit import event_record
from projections.folds.timeline import timeline_entry
from tests.unit.test_folds import PHASE1, Story


def test_every_event_reads_the_same_in_the_cli_and_the_api() -> None:
    """A tester diffed `regflow events --json` against GET .../events: the API's data held
    the actor (and a reason) the CLI's left out, so every event differed."""
    story = Story().running().succeed(*PHASE1, "restaurantRegistration").fail("menuImport")
    story.do(lambda j: j.cancel("user:u-2", "wrong menu"))
    story.do(lambda j: j.resume("user:u-2", "menu fixed"))
    story.finish_all()
    kinds = set()
    for event in story.events:
        cli, api = event_record(event), timeline_entry(event)
        kinds.add(cli["type"])
        assert cli["data"] == api["data"], cli["type"]
        assert (cli["actor"], cli["reason"], cli["type"]) == (
            api["actor"],
            api["reason"],
            api["type"],
        )
    assert {"Step6Started", "JobCancelled", "ResumeRequested", "SubStepFailed"} <= kinds
