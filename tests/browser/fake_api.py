"""A canned registration-batches API in the contract's shapes, served through Playwright routes."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import Route

from domain.plan import PLAN

TOKEN = "smoke-key"
BATCH_ID = "b-1"
JOB_ID = "j-1"
STATUSES = {
    "cloudwaitressAccount": "completed",
    "codeGeneration": "completed",
    "createOnboardingUser": "skipped",
    "uploadImages": "completed",
    "restaurantRegistration": "completed",
    "websiteConfig": "completed",
    "servicesConfig": "in_progress",
    "paymentConfig": "retrying",
    "menuImport": "failed",
    "syncOnboardingUser": "skipped",
    "optionSets": "blocked",
    "itemTags": "blocked",
}
MENU_ERROR = "HTTP 400: Validation failed (simulated permanent fault)"


def sub_step_progress() -> dict[str, Any]:
    def entry(key: str) -> dict[str, Any]:
        status = STATUSES[key]
        failed = status == "failed"
        return {
            "status": status,
            "attempts": 2 if status in ("failed", "retrying") else 1,
            "started_at": "2025-01-05T10:00:01+00:00",
            "error": MENU_ERROR if failed else None,
            "result": {},
            "retry_at": "2025-01-05T10:01:00+00:00" if status == "retrying" else None,
        }

    phases = {
        p: {"status": "in_progress", "sub_steps": {k: entry(k) for k in PLAN.in_phase(p)}}
        for p in PLAN.phases
    }
    phases["phase1"]["status"] = "completed"
    return {
        "current_phase": "phase2",
        "phases": phases,
        "context": {"codeInjectionId": "ci-42", "menuImportSucceeded": False},
    }


def job_summary(
    job_id: str, name: str, status: str, phase: str, error: str | None = None, blocked: int = 0
) -> dict[str, Any]:
    """One line of the batch's jobs table, as the API answers it."""
    return {
        "id": job_id,
        "name": name,
        "restaurant": {"name": name},
        "status": status,
        "current_phase": phase,
        "last_error": error,
        "counts": {"blocked": blocked},
    }


JOBS = [
    job_summary(JOB_ID, "Buzz", "failed", "phase2", f"menuImport: {MENU_ERROR}", blocked=2),
    job_summary("j-2", "Fizz", "in_progress", "phase2"),
    job_summary("j-3", "Jazz", "completed", "phase4"),
]
BATCH = {
    "id": BATCH_ID,
    "name": "Auckland week 48",
    "status": "in_progress",
    "total": 3,
    "completed": 1,
    "failed": 1,
    "in_progress": 1,
    "pending": 0,
    "cancelled": 0,
    "percent": 67,
    "created_at": "2025-01-05T09:59:00+00:00",
    # Every sub-step of the three jobs (twelve each); no job of a page is flagged as waiting.
    "sub_steps": {
        "completed": 21,
        "skipped": 4,
        "failed": 1,
        "blocked": 2,
        "in_progress": 2,
        "retrying": 1,
        "pending": 5,
    },
    "waiting_for_capacity": 2,
}
# A listed batch has its job counters only, as the list answers it.
LISTED_BATCH = {k: v for k, v in BATCH.items() if k not in ("sub_steps", "waiting_for_capacity")}
EVENTS = [
    {
        "version": 1,
        "type": "JobCreated",
        "at": "2025-01-05T09:59:00+00:00",
        "actor": "key:org-1",
        "reason": None,
        "data": {},
    },
    {
        "version": 2,
        "type": "Step6Started",
        "at": "2025-01-05T10:00:00+00:00",
        "actor": "key:org-1",
        "reason": None,
        "data": {},
    },
    {
        "version": 3,
        "type": "SubStepFailed",
        "at": "2025-01-05T10:00:05+00:00",
        "actor": "engine",
        "reason": None,
        "data": {"sub_step": "menuImport", "error": MENU_ERROR, "attempt": 2},
    },
    {
        "version": 4,
        "type": "EditRefused",
        "at": "2025-01-05T10:02:00+00:00",
        "actor": "user:ana",
        "reason": "imported by hand",
        "data": {"errors": ["Cannot mark optionSets as completed: menuImport is failed"]},
    },
]


class FakeApi:
    """Answers every call under /api/registration-batches; records what the page sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any]] = []
        self.job_status = "failed"

    def __call__(self, route: Route) -> None:
        request = route.request
        url = urlsplit(request.url)
        body = json.loads(request.post_data) if request.post_data else None
        self.sent.append((request.method, url.path, body))
        if url.path.endswith("/stream") and parse_qs(url.query).get("stream_token") == ["t"]:
            event = f"retry: 60000\nevent: progress\ndata: {json.dumps(BATCH)}\n\n"
            return route.fulfill(status=200, content_type="text/event-stream", body=event)
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return self._answer(route, 401, {"success": False, "message": "Invalid token"})
        status, answer = self._dispatch(
            request.method,
            url.path.removeprefix("/api/registration-batches"),
            parse_qs(url.query),
            body or {},
        )
        self._answer(route, status, answer)

    def _dispatch(
        self, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        sub_step = re.fullmatch(r"/jobs/[^/]+/steps/6/sub-steps/(\w+)(/\w[\w-]*)?", path)
        if sub_step:
            return self._sub_step(method, sub_step.group(1), sub_step.group(2) or "", body)
        if method == "POST" and path in ("", "/"):
            jobs = [
                {"id": f"new-{i}", "restaurant": r, "status": "pending"}
                for i, r in enumerate(body["restaurants"])
            ]
            return 201, {
                "success": True,
                "batch": {"id": BATCH_ID, "name": body["name"], "status": "pending", "jobs": jobs},
            }
        answers: dict[tuple[str, str], dict[str, Any]] = {
            ("GET", ""): {"batches": [LISTED_BATCH], "limit": 50, "offset": 0},
            ("GET", f"/{BATCH_ID}"): {"batch": BATCH | {"jobs": JOBS}},
            ("GET", f"/{BATCH_ID}/jobs"): self._page(query),
            ("POST", f"/{BATCH_ID}/stream-token"): {
                "token": "t",
                "expires_in": 60,
                "url": f"/api/registration-batches/{BATCH_ID}/stream?stream_token=t",
            },
            ("GET", f"/jobs/{JOB_ID}"): {"job": self._job()},
            ("GET", f"/jobs/{JOB_ID}/events"): self._events(query),
            ("GET", f"/jobs/{JOB_ID}/state"): {
                "job_id": JOB_ID,
                "version": 2,
                "status": "in_progress",
                "sub_step_progress": {"current_phase": "phase1", "phases": {}, "context": {}},
            },
            ("POST", f"/jobs/{JOB_ID}/cancel"): {"message": "Job cancelled", "version": 5},
            ("POST", f"/jobs/{JOB_ID}/resume-step-6"): {
                "message": "Resume initiated",
                "resuming_from": "phase1",
                "resume_plan": {"phase": "phase2", "sub_steps": ["menuImport", "optionSets"]},
                "dry_run": bool(body.get("dry_run")),
            },
        }
        found = answers.get((method, path))
        if found is None:
            return 404, {"success": False, "message": f"No route {method} {path}"}
        return 200, {"success": True, **found}

    @staticmethod
    def _page(query: dict[str, list[str]]) -> dict[str, Any]:
        """The jobs page: the status filter (`blocked`: jobs with blocked sub-steps) and search."""
        status, q = query.get("status", [""])[0], query.get("q", [""])[0].lower()
        jobs = [
            j
            for j in JOBS
            if (
                not status
                or j["status"] == status
                or (status == "blocked" and j["counts"]["blocked"])
            )
            and q in str(j["name"]).lower()
        ]
        return {"jobs": jobs, "next_after": None, "limit": 100, "total": len(jobs)}

    def _job(self) -> dict[str, Any]:
        progress = sub_step_progress()
        return {
            "id": JOB_ID,
            "batch_id": BATCH_ID,
            "status": self.job_status,
            "version": 4,
            "restaurant": {"name": "Buzz", "external_id": "r-17"},
            "steps": [{"step_number": 6, "status": self.job_status, "sub_step_progress": progress}],
        }

    def _events(self, query: dict[str, list[str]]) -> dict[str, Any]:
        after = int(query.get("after_version", ["0"])[0])
        fresh = [e for e in EVENTS if e["version"] > after]
        return {"events": fresh, "next_after_version": fresh[-1]["version"] if fresh else after}

    def _sub_step(
        self, method: str, key: str, tail: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        if tail == "/validation":
            deps = [
                {"sub_step": d, "status": STATUSES[d], "satisfied": STATUSES[d] == "completed"}
                for d in PLAN.dependencies(key)
            ]
            dependents = [{"sub_step": d, "status": STATUSES[d]} for d in PLAN.dependents(key)]
            errors = [
                f"Cannot mark {key} as completed: {d['sub_step']} is {d['status']}"
                for d in deps
                if not d["satisfied"]
            ]
            transitions = {
                "completed": {"valid": not errors, "errors": errors, "warnings": []},
                "pending": {"valid": True, "errors": [], "cascade": [key, *PLAN.cascade_of(key)]},
            }
            return 200, {
                "success": True,
                "sub_step": key,
                "phase": PLAN.phase_of(key),
                "status": STATUSES[key],
                "dependencies": deps,
                "dependents": dependents,
                "transitions": transitions,
            }
        if tail == "/retry-now":
            return 200, {"success": True, "sub_step": key, "version": 5}
        if tail == "/reset":
            return 200, {
                "success": True,
                "sub_step": key,
                "reset": [key, *PLAN.cascade_of(key)],
                "version": 5,
                "job_status": "failed",
                "dry_run": body.get("dry_run", False),
            }
        unmet = [d for d in PLAN.dependencies(key) if STATUSES[d] != "completed"]
        if body.get("status") == "completed" and unmet:
            errors = [f"Cannot mark {key} as completed: {d} is {STATUSES[d]}" for d in unmet]
            return 422, {"success": False, "message": "The edit is not allowed", "errors": errors}
        return 200, {
            "success": True,
            "sub_step": key,
            "status": body.get("status"),
            "warnings": [],
            "reset": [],
            "version": 5,
            "job_status": "failed",
            "dry_run": body.get("dry_run", False),
        }

    @staticmethod
    def _answer(route: Route, status: int, body: dict[str, Any]) -> None:
        route.fulfill(status=status, content_type="application/json", body=json.dumps(body))
