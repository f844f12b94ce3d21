"""The context later sub-steps need, folded from sub-step statuses and results.

Precedence (the seed's D3, "stored context wins over inference"):

- A job created here: every value is inferred from the sub-steps completed now
  (`codeGeneration`'s result, `createOnboardingUser` and `menuImport` completed).
- A job imported from the old system: the context recorded at the import (the old
  system's stored `sub_step_progress.context`, or what was inferred there when it stored
  none) holds for the values a sub-step produces (`codeInjectionId` with its time and
  legacy file paths, `onboardingUserCreated`, `menuImportSucceeded`) until that sub-step
  completes in regflow after the import (by a call or marked completed by hand). From
  then on the value is inferred, as for a job created here. A failure, skip or reset in
  regflow supersedes nothing: it does not undo what the old system did.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import Any

from domain.limits import json_kind
from domain.status import SubStepStatus

CONTEXT_KEYS = (
    "codeInjectionId",
    "codeInjectionGeneratedAt",
    "codeGenerationFilePaths",
    "onboardingUserCreated",
    "menuImportSucceeded",
)
PRODUCED_BY: Mapping[str, tuple[str, ...]] = {
    "codeGeneration": ("codeInjectionId", "codeInjectionGeneratedAt", "codeGenerationFilePaths"),
    "createOnboardingUser": ("onboardingUserCreated",),
    "menuImport": ("menuImportSucceeded",),
}


def fold_context(
    statuses: Mapping[str, str],
    results: Mapping[str, Mapping[str, Any]],
    imported: Mapping[str, Any] | None = None,
    completed_here: Collection[str] = (),
) -> dict[str, Any]:
    """The context: inferred from what is completed now, an imported context taking precedence."""
    completed = {k for k, s in statuses.items() if s == SubStepStatus.COMPLETED}
    context = _inferred(completed, results)
    for producer, keys in PRODUCED_BY.items():
        if imported is None or producer in completed_here:
            continue
        context.update({key: imported[key] for key in keys if key in imported})
    context["results"] = {k: dict(results.get(k, {})) for k in statuses if k in completed}
    return context


def _inferred(completed: set[str], results: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    code: Mapping[str, Any] = results.get("codeGeneration", {})
    context: dict[str, Any] = {
        "codeInjectionId": None,
        "codeInjectionGeneratedAt": None,
        "codeGenerationFilePaths": None,
        "onboardingUserCreated": "createOnboardingUser" in completed,
        "menuImportSucceeded": "menuImport" in completed,
    }
    if "codeGeneration" in completed:
        injection = code.get("codeInjectionId")
        paths = code.get("filePaths")
        context["codeInjectionId"] = injection
        context["codeInjectionGeneratedAt"] = code.get(
            "codeInjectionGeneratedAt", code.get("generatedAt")
        )
        context["codeGenerationFilePaths"] = paths if paths or injection else True
    return context


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_time(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _are_paths(value: Any) -> bool:
    return isinstance(value, list) and all(_is_text(p) for p in value)


# What a result that feeds the context must hold, by sub-step and field, when it holds the
# field at all: what the registration API answers and what later calls are sent.
RESULT_FIELDS: Mapping[str, Mapping[str, tuple[Callable[[Any], bool], str]]] = {
    "codeGeneration": {
        "codeInjectionId": (_is_text, "a non-empty string"),
        "codeInjectionGeneratedAt": (_is_time, "an ISO 8601 time"),
        "generatedAt": (_is_time, "an ISO 8601 time"),
        "filePaths": (_are_paths, "a list of non-empty strings"),
    },
}


def result_errors(key: str, result: Mapping[str, Any] | None) -> list[str]:
    """What is wrong with a result an operator types in for `key`, as the context would take
    it: a field later calls are sent, of the wrong kind (an object as `codeInjectionId`)."""
    fields = RESULT_FIELDS.get(key, {})
    return [
        f"{key}.result.{name}: must be {wanted}, not this {json_kind(result[name])}"
        for name, (valid, wanted) in fields.items()
        if result is not None and name in result and not valid(result[name])
    ]
