"""Reads the old system's export: each job's `sub_step_progress` becomes statuses and context."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from domain.exceptions import InvalidInput, SubStepNotFound
from domain.failures import clean_message
from domain.field_paths import child_path
from domain.limits import (
    MAX_NAME,
    MAX_NESTING,
    json_kind,
    nesting_error,
    organisation_errors,
    text_errors,
)
from domain.plan import PLAN
from infrastructure.json_as_sent import (
    REPEATED_KEY,
    UNFAITHFUL_MESSAGES,
    NumberTooLong,
    loads,
    repeated_here,
    repeated_keys,
)
from infrastructure.legacy_checks import (
    CONTEXT_FIELDS,
    interrupted_warning,
    stored_context,
    unmet_dependencies,
)

KEPT = frozenset({"completed", "failed", "skipped", "pending"})
INTERRUPTED = frozenset({"in_progress", "processing", "running", "retrying"})
INTERRUPTED_ERROR = "interrupted in the old system: outcome unknown"
MAX_LEGACY_ID = 1000
"""Characters a job's id in the old system may hold."""


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
    id_warnings: list[str] = field(default_factory=list)
    """What the import says of the job's id (one derived from the old system's)."""
    interrupted: dict[str, str] = field(default_factory=dict)
    """The sub-steps the old system left running (imported as failed), with that status."""

    @property
    def warnings(self) -> list[str]:
        """What the import says of the job before it is recorded."""
        return self.warnings_with({})

    def warnings_with(self, fates: Mapping[str, str]) -> list[str]:
        """What the import says of the job, each interrupted sub-step's warning saying what a
        resume does with it (`fates`, once the job is recorded)."""
        return self.id_warnings + [
            interrupted_warning(key, status, fates.get(key))
            for key, status in self.interrupted.items()
        ]


REPEATED = UNFAITHFUL_MESSAGES[REPEATED_KEY]


def read_export(text: str) -> list[Any]:
    """The job entries of an export's text; InvalidInput says why the file cannot be read
    (not JSON, nested past what can be read, a number too long to read, a key named twice
    outside the job entries, not a list of jobs). A job entry naming a key twice is that
    entry's error (`parse_job`), as any other fault of one entry is."""
    try:
        document = loads(text)
    except RecursionError:
        raise InvalidInput("nested too deeply to be read") from None
    except NumberTooLong as exc:
        raise InvalidInput(f"holds {exc}: it cannot be read") from None
    except ValueError as exc:
        raise InvalidInput(f"not JSON: {exc}") from None
    if around := repeated_around_entries(document):
        raise InvalidInput(f"{REPEATED}: {', '.join(around)}", around)
    return export_entries(document)


def repeated_around_entries(document: Any) -> list[str]:
    """The keys an export names twice outside its job entries (the file cannot be read)."""
    if not isinstance(document, Mapping):
        return []
    found = repeated_here(document)
    for key, value in document.items():
        if key != "jobs":
            found += repeated_keys(value, key)
    return found


def export_entries(document: Any) -> list[Any]:
    """The job entries of an export: a list of jobs, or an object with a `jobs` list."""
    if isinstance(document, Mapping) and isinstance(document.get("jobs"), list):
        return list(document["jobs"])
    if isinstance(document, list):
        return document
    raise InvalidInput('A legacy export is a list of jobs or an object {"jobs": [...]}')


def legacy_id_of(entry: Any) -> Any:
    """The id the old system gave an entry, as found (None when the entry has none)."""
    return entry.get("id", entry.get("job_id")) if isinstance(entry, Mapping) else None


def job_id_of(value: Any) -> tuple[UUID, list[str]]:
    """The job id to record: the legacy id when it is a UUID, else one derived from it."""
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value).strip() == "":
        raise InvalidInput("The job has no id")
    if errors := text_errors(str(value), "id", MAX_LEGACY_ID):
        raise InvalidInput("The job's id cannot be recorded", errors)
    try:
        return UUID(str(value)), []
    except ValueError:
        derived = uuid5(NAMESPACE_URL, f"regflow-legacy-job:{value}")
        return derived, [f"legacy id {value} is not a UUID: recorded as job {derived}"]


def organisation_of(value: Any) -> str | None:
    """The organisation an entry names (None when it names none), checked by the rule every
    organisation id follows."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"organisation_id: must be a string, not this {json_kind(value)}")
    if errors := organisation_errors(value, "organisation_id"):
        raise InvalidInput("Invalid organisation_id", errors)
    return value


def batch_name_of(entry: Mapping[str, Any]) -> str | None:
    """The batch an entry names, from `batch_name` or `batch.name` (None when neither)."""
    batch = entry.get("batch")
    name, where = entry.get("batch_name"), "batch_name"
    if not name and isinstance(batch, Mapping):
        name, where = batch.get("name"), "batch.name"
    if not name:
        return None
    if not isinstance(name, str):
        raise InvalidInput(f"{where}: must be a string, not this {json_kind(name)}")
    if errors := text_errors(name, where, MAX_NAME):
        raise InvalidInput("Invalid batch name", errors)
    return name.strip() or None


def step6_progress(entry: Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
    """The entry's Step 6 `sub_step_progress`, at the top or under `steps[step_number=6]`,
    and its path in the entry."""
    progress, path = entry.get("sub_step_progress"), "sub_step_progress"
    if progress is None:
        steps = entry.get("steps")
        steps = steps if isinstance(steps, list) else []
        found = [
            i for i, s in enumerate(steps) if isinstance(s, Mapping) and s.get("step_number") == 6
        ]
        if found:
            progress = steps[found[0]].get("sub_step_progress")
            path = f"steps[{found[0]}].sub_step_progress"
    if not isinstance(progress, Mapping) or not isinstance(progress.get("phases"), Mapping):
        raise InvalidInput("No Step 6 sub_step_progress with phases to import")
    return progress, path


def sub_step_statuses(
    progress: Mapping[str, Any],
) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Each recorded sub-step as an importable status, and those the old system left running
    with that status; errors name what is wrong."""
    statuses: dict[str, dict[str, Any]] = {}
    errors: list[str] = []
    interrupted: dict[str, str] = {}
    for phase, content in progress["phases"].items():
        where = str(phase)
        if phase not in PLAN.phases:
            errors.append(f"unknown phase {phase}")
            continue
        if not isinstance(content, Mapping):
            errors.append(f"{where}: must be an object, not this {json_kind(content)}")
            continue
        sub_steps = content.get("sub_steps")
        if sub_steps is not None and not isinstance(sub_steps, Mapping):
            kind = json_kind(sub_steps)
            errors.append(f"{where}.sub_steps: must be an object of sub-steps, not this {kind}")
            continue
        for key, item in (sub_steps or {}).items():
            try:
                statuses[key] = _sub_step(phase, key, item, interrupted)
            except InvalidInput as exc:
                errors.extend(exc.errors)
    if errors:
        raise InvalidInput("; ".join(errors), errors)
    return statuses, interrupted


def _sub_step(phase: str, key: str, item: Any, interrupted: dict[str, str]) -> dict[str, Any]:
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
    if not isinstance(status, str):
        raise InvalidInput(f"{key}.status: must be a string, not this {json_kind(status)}")
    if status in INTERRUPTED:
        interrupted[key] = status
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
        valid, wanted = CONTEXT_FIELDS["codeGenerationFilePaths"]
        if not valid(item["filePaths"]):
            kind = json_kind(item["filePaths"])
            raise InvalidInput(f"{key}.filePaths: must be {wanted}, not this {kind}")
        result.setdefault("filePaths", item["filePaths"])
    if too_deep := nesting_error(result, f"{key}.result"):
        raise InvalidInput(too_deep)
    if error and (isinstance(error, bool) or not isinstance(error, str | int | float)):
        raise InvalidInput(f"{key}.error: must be text, not this {json_kind(error)}")
    imported: dict[str, Any] = {"status": status, "attempts": attempts, "result": result}
    imported["error"] = clean_message(str(error)) if error else None
    for name in ("started_at", "completed_at"):
        if value := item.get(name):
            if not isinstance(value, str):
                raise InvalidInput(f"{key}.{name}: must be a string, not this {json_kind(value)}")
            imported[name] = value
    return imported


def reconstruct_context(
    progress: Mapping[str, Any], path: str = "sub_step_progress"
) -> tuple[dict[str, Any], str]:
    """The old `reconstructContext`: the stored context if any, else inferred from statuses.
    A stored value of the wrong type is InvalidInput naming it from `path` (the progress's)."""
    stored = stored_context(progress.get("context"), f"{path}.context")
    if stored is not None:
        return stored, "stored"
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


def unstorable_values(value: Any, path: str) -> list[str]:
    """Where a decoded JSON value holds what no store keeps (a NUL or a lone surrogate in a
    text or a key, a number that is not finite), each named from `path`; walks without
    recursion."""
    errors: list[str] = []
    pending: list[tuple[str, Any]] = [(path, value)]
    while pending:
        where, item = pending.pop()
        if isinstance(item, str):
            errors += text_errors(item, where or "value", len(item))
        elif isinstance(item, float) and not math.isfinite(item):
            errors.append(f"{where or 'value'}: not a finite number")
        elif isinstance(item, Mapping):
            for key, child in item.items():
                errors += text_errors(key, child_path(where, "<key>"), len(key))
                pending.append((child_path(where, key), child))
        elif isinstance(item, list):
            pending += [(f"{where}[{i}]", child) for i, child in enumerate(item)]
    return errors


def restaurant_of(entry: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The restaurant to record, with its execution_config, and where it holds what no store
    keeps: each value named where the entry holds it, as a key named twice there is."""
    restaurant, restaurant_path = entry.get("restaurant"), "restaurant"
    if not restaurant:
        restaurant, restaurant_path = entry.get("restaurant_name"), "restaurant_name"
    if isinstance(restaurant, str):
        unstorable = unstorable_values(restaurant, restaurant_path)
        restaurant = {"name": restaurant}
    elif isinstance(restaurant, Mapping):
        named = {k: v for k, v in restaurant.items() if k != "execution_config"}
        unstorable = unstorable_values(named, restaurant_path)
    else:
        raise InvalidInput("The job has no restaurant")
    config, config_path = entry.get("execution_config"), "execution_config"
    if "execution_config" not in entry:
        config, config_path = restaurant.get("execution_config"), "restaurant.execution_config"
    if not isinstance(config or {}, Mapping):
        raise InvalidInput("execution_config must be an object")
    unstorable += unstorable_values(config or {}, config_path)
    return {**restaurant, "execution_config": dict(config or {})}, unstorable


def parse_job(entry: Any) -> LegacyJob:
    """Check one exported job and translate it; InvalidInput lists every problem found."""
    if not isinstance(entry, Mapping):
        raise InvalidInput("A job entry must be an object")
    if repeated := repeated_keys(entry):
        raise InvalidInput(REPEATED, [f"{path}: {REPEATED_KEY}" for path in repeated])
    job_id, warnings = job_id_of(legacy_id_of(entry))
    organisation = organisation_of(entry.get("organisation_id"))
    batch_name = batch_name_of(entry)
    progress, progress_path = step6_progress(entry)
    statuses, interrupted = sub_step_statuses(progress)
    if unmet := unmet_dependencies(statuses):
        raise InvalidInput("The progress breaks the plan's dependencies", unmet)
    context, source = reconstruct_context(progress, progress_path)
    if too_deep := nesting_error(context, "context", MAX_NESTING):
        raise InvalidInput(too_deep)
    recorded, unstorable = restaurant_of(entry)
    unstorable += unstorable_values(statuses, "") + unstorable_values(
        context, f"{progress_path}.context"
    )
    if unstorable:
        raise InvalidInput("The job holds values that cannot be stored", unstorable)
    return LegacyJob(
        job_id=job_id,
        legacy_id=str(legacy_id_of(entry)),
        organisation_id=organisation,
        batch_name=batch_name,
        restaurant=recorded,
        sub_steps=statuses,
        context=context,
        context_source=source,
        id_warnings=warnings,
        interrupted=interrupted,
    )
