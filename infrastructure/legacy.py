"""Reads the old system's export: each job's `sub_step_progress` becomes statuses and context."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from domain.context import CONTEXT_KEYS
from domain.exceptions import InvalidInput, SubStepNotFound
from domain.failures import clean_message
from domain.plan import PLAN

KEPT = frozenset({"completed", "failed", "skipped", "pending"})
INTERRUPTED = frozenset({"in_progress", "processing", "running", "retrying"})
INTERRUPTED_ERROR = "interrupted in the old system: outcome unknown"


@dataclass(frozen=True)
class LegacyJob:
    """One job of the export, checked and translated for `Registrations.import_legacy`."""

    job_id: UUID
    legacy_id: str
    organisation_id: str | None
    batch_name: str | None
    restaurant: dict[str, Any]
    sub_steps: dict[str, dict[str, Any]]
    context: dict[str, Any]
    context_source: str
    warnings: list[str] = field(default_factory=list)


def export_entries(document: Any) -> list[Any]:
    """The job entries of an export: a list of jobs, or an object with a `jobs` list."""
    if isinstance(document, Mapping) and isinstance(document.get("jobs"), list):
        return list(document["jobs"])
    if isinstance(document, list):
        return document
    raise InvalidInput('A legacy export is a list of jobs or an object {"jobs": [...]}')


def job_id_of(value: Any) -> tuple[UUID, list[str]]:
    """The job id to record: the legacy id when it is a UUID, else one derived from it."""
    if not isinstance(value, str | int) or str(value).strip() == "":
        raise InvalidInput("The job has no id")
    try:
        return UUID(str(value)), []
    except ValueError:
        derived = uuid5(NAMESPACE_URL, f"regflow-legacy-job:{value}")
        return derived, [f"legacy id {value} is not a UUID: recorded as job {derived}"]


def step6_progress(entry: Mapping[str, Any]) -> Mapping[str, Any]:
    """The entry's Step 6 `sub_step_progress`, at the top or under `steps[step_number=6]`."""
    progress = entry.get("sub_step_progress")
    if progress is None:
        steps = entry.get("steps") or []
        found = [s for s in steps if isinstance(s, Mapping) and s.get("step_number") == 6]
        progress = found[0].get("sub_step_progress") if found else None
    if not isinstance(progress, Mapping) or not isinstance(progress.get("phases"), Mapping):
        raise InvalidInput("No Step 6 sub_step_progress with phases to import")
    return progress


def sub_step_statuses(progress: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Each recorded sub-step as an importable status; errors name what is wrong."""
    statuses: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    warnings: list[str] = []
    for phase, content in progress["phases"].items():
        if phase not in PLAN.phases:
            errors.append(f"unknown phase {phase}")
            continue
        sub_steps = content.get("sub_steps") if isinstance(content, Mapping) else None
        for key, item in (sub_steps or {}).items():
            try:
                statuses[key] = _sub_step(phase, key, item, warnings)
            except InvalidInput as exc:
                errors.append(exc.message)
    if errors:
        raise InvalidInput("; ".join(errors), errors)
    return statuses, warnings


def _sub_step(phase: str, key: str, item: Any, warnings: list[str]) -> dict[str, Any]:
    try:
        expected = PLAN.phase_of(key)
    except SubStepNotFound:
        raise InvalidInput(f"unknown sub-step {key} in {phase}") from None
    if expected != phase:
        raise InvalidInput(f"{key} belongs to {expected}, found under {phase}")
    if not isinstance(item, Mapping):
        raise InvalidInput(f"{key}: expected an object with a status")
    status = item.get("status")
    error = item.get("error")
    if status in INTERRUPTED:
        warnings.append(
            f"{key} was {status} in the old system: imported as failed, resume re-runs it"
        )
        status, error = "failed", INTERRUPTED_ERROR
    elif status not in KEPT:
        raise InvalidInput(f"{key}: unknown status {status!r}")
    attempts = item.get("attempts", 0)
    if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 0:
        raise InvalidInput(f"{key}: attempts must be a whole number >= 0")
    result = item.get("result") or {}
    if not isinstance(result, Mapping):
        raise InvalidInput(f"{key}: result must be an object")
    result = dict(result)
    if item.get("filePaths") is not None:
        result.setdefault("filePaths", item["filePaths"])
    imported: dict[str, Any] = {"status": status, "attempts": attempts, "result": result}
    imported["error"] = clean_message(str(error)) if error else None
    imported.update({k: item[k] for k in ("started_at", "completed_at") if item.get(k)})
    return imported


def reconstruct_context(progress: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The old `reconstructContext`: the stored context if any, else inferred from statuses."""
    stored = progress.get("context")
    if isinstance(stored, Mapping):
        context = {key: stored.get(key) or None for key in CONTEXT_KEYS}
        context["onboardingUserCreated"] = bool(stored.get("onboardingUserCreated"))
        context["menuImportSucceeded"] = bool(stored.get("menuImportSucceeded"))
        return context, "stored"
    phases = progress.get("phases") or {}
    phase1 = (phases.get("phase1") or {}).get("sub_steps") or {}
    phase2 = (phases.get("phase2") or {}).get("sub_steps") or {}
    code = phase1.get("codeGeneration") or {}
    completed = code.get("status") == "completed"
    return {
        "codeGenerationFilePaths": (code.get("filePaths") or True) if completed else None,
        "onboardingUserCreated": (phase1.get("createOnboardingUser") or {}).get("status")
        == "completed",
        "menuImportSucceeded": (phase2.get("menuImport") or {}).get("status") == "completed",
    }, "inferred"


def parse_job(entry: Any) -> LegacyJob:
    """Check one exported job and translate it; InvalidInput lists every problem found."""
    if not isinstance(entry, Mapping):
        raise InvalidInput("A job entry must be an object")
    job_id, warnings = job_id_of(entry.get("id", entry.get("job_id")))
    progress = step6_progress(entry)
    statuses, status_warnings = sub_step_statuses(progress)
    context, source = reconstruct_context(progress)
    restaurant = entry.get("restaurant") or entry.get("restaurant_name")
    if isinstance(restaurant, str):
        restaurant = {"name": restaurant}
    if not isinstance(restaurant, Mapping):
        raise InvalidInput("The job has no restaurant")
    config = entry.get("execution_config", restaurant.get("execution_config")) or {}
    if not isinstance(config, Mapping):
        raise InvalidInput("execution_config must be an object")
    batch = entry.get("batch")
    batch_name = entry.get("batch_name") or (
        batch.get("name") if isinstance(batch, Mapping) else None
    )
    return LegacyJob(
        job_id=job_id,
        legacy_id=str(entry.get("id", entry.get("job_id"))),
        organisation_id=entry.get("organisation_id"),
        batch_name=batch_name,
        restaurant={**restaurant, "execution_config": dict(config)},
        sub_steps=statuses,
        context=context,
        context_source=source,
        warnings=warnings + status_warnings,
    )
