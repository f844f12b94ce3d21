"""The sub_step_progress document, field for field, in the shape the existing frontend reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tests.unit.jobs import PHASE1
from tests.unit.test_folds import Story

TIME = "<ISO time>"


def sub(
    status: str,
    attempts: int = 0,
    started: bool = False,
    completed: bool = False,
    error: str | None = None,
    result: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "status": status,
        "attempts": attempts,
        "started_at": TIME if started else None,
        "completed_at": TIME if completed else None,
        "error": error,
        "result": result or {},
    }


def done(result: dict[str, Any] | None = None) -> dict[str, Any]:
    return sub("completed", 1, started=True, completed=True, result=result)


CODE = {"codeInjectionId": "ci-1", "codeInjectionGeneratedAt": "2024-12-30T10:00:00Z"}
FRONTEND_DOCUMENT: dict[str, Any] = {
    "current_phase": "phase2",
    "phases": {
        "phase1": {
            "status": "completed",
            "sub_steps": {
                "cloudwaitressAccount": done({"accountId": "acc-1", "password": "***"}),
                "codeGeneration": done(CODE),
                "createOnboardingUser": done(),
                "uploadImages": done(),
            },
        },
        "phase2": {
            "status": "in_progress",
            "sub_steps": {
                "restaurantRegistration": done({"restaurantId": "r-1"}),
                "websiteConfig": done(),
                "servicesConfig": sub("retrying", 1, started=True, error="HTTP 503"),
                "paymentConfig": sub("in_progress", 1, started=True),
                "menuImport": sub("failed", 1, True, True, "HTTP 400: bad menu"),
                "syncOnboardingUser": sub("pending"),
            },
        },
        "phase3": {"status": "failed", "sub_steps": {"optionSets": sub("blocked")}},
        "phase4": {"status": "failed", "sub_steps": {"itemTags": sub("blocked")}},
    },
    "context": {
        "codeInjectionId": "ci-1",
        "codeInjectionGeneratedAt": "2024-12-30T10:00:00Z",
        "codeGenerationFilePaths": None,
        "onboardingUserCreated": True,
        "menuImportSucceeded": False,
        "results": {
            "cloudwaitressAccount": {"accountId": "acc-1", "password": "***"},
            "codeGeneration": CODE,
            "createOnboardingUser": {},
            "uploadImages": {},
            "restaurantRegistration": {"restaurantId": "r-1"},
            "websiteConfig": {},
        },
    },
}


def mid_phase2() -> Story:
    story = Story().running()
    story.succeed("cloudwaitressAccount", result={"accountId": "acc-1", "password": "pw"})
    story.succeed("codeGeneration", result=CODE)
    story.succeed(*PHASE1[2:]).succeed("restaurantRegistration", result={"restaurantId": "r-1"})
    story.succeed("websiteConfig").fail("menuImport")
    story.do(lambda j: j.start_sub_step("servicesConfig"))
    story.do(lambda j: j.schedule_retry("servicesConfig", "HTTP 503", delay=2.0))
    return story.do(lambda j: j.start_sub_step("paymentConfig"))


def frontend_view(document: dict[str, Any]) -> dict[str, Any]:
    """The fields the frontend reads, with every timestamp checked and replaced by a marker."""
    shown = {key: document[key] for key in ("current_phase", "phases", "context")}
    for phase in shown["phases"].values():
        for key, item in phase["sub_steps"].items():
            kept = {k: item[k] for k in ("status", "attempts", "started_at", "completed_at")}
            kept |= {k: item[k] for k in ("error", "result")}
            for field in ("started_at", "completed_at"):
                if kept[field] is not None:
                    assert datetime.fromisoformat(kept[field]).tzinfo is not None
                    kept[field] = TIME
            phase["sub_steps"][key] = kept
    return shown


def test_the_document_has_the_frontends_shape_field_for_field() -> None:
    assert frontend_view(mid_phase2().doc) == FRONTEND_DOCUMENT


def test_phases_and_sub_steps_come_in_plan_order() -> None:
    document = mid_phase2().doc
    assert list(document["phases"]) == list(FRONTEND_DOCUMENT["phases"])
    for name, phase in document["phases"].items():
        assert list(phase["sub_steps"]) == list(FRONTEND_DOCUMENT["phases"][name]["sub_steps"])


def test_extra_fields_are_only_additions() -> None:
    item = mid_phase2().doc["phases"]["phase1"]["sub_steps"]["codeGeneration"]
    assert set(item) - set(sub("pending")) == {"reason", "retry_at"}
