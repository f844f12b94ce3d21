"""The rules an imported job's progress must keep, and what a resume will do with it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from domain.context import CONTEXT_KEYS, RESULT_FIELDS
from domain.editing import check_edit
from domain.exceptions import InvalidInput
from domain.job import RegistrationJob
from domain.limits import json_kind
from domain.plan import PLAN
from domain.status import SubStepStatus

_S = SubStepStatus
_CODE = RESULT_FIELDS["codeGeneration"]
_ARE_PATHS = _CODE["filePaths"][0]


def _is_flag(value: Any) -> bool:
    return isinstance(value, bool)


def _are_legacy_paths(value: Any) -> bool:
    # The old system's forms: `true` (generated, paths unknown), a list of paths, or its
    # earlier `{"headInjection": path, "bodyInjection": path}`.
    if isinstance(value, Mapping):
        return _ARE_PATHS(list(value.values()))
    return value is True or _ARE_PATHS(value)


# The type of each value of a context the old system stored, when it holds one (null: it
# holds none), as later calls and the menu rule read it: the types a result feeding the
# context is held to, and booleans for the flags. Never read by truthiness, where "false"
# and "no" would be true.
CONTEXT_FIELDS: Mapping[str, tuple[Callable[[Any], bool], str]] = {
    "codeInjectionId": _CODE["codeInjectionId"],
    "codeInjectionGeneratedAt": _CODE["codeInjectionGeneratedAt"],
    "codeGenerationFilePaths": (
        _are_legacy_paths,
        "true, a list of non-empty strings or an object of them",
    ),
    "onboardingUserCreated": (_is_flag, "a boolean (true or false)"),
    "menuImportSucceeded": (_is_flag, "a boolean (true or false)"),
}


def context_errors(context: Mapping[str, Any], path: str) -> list[str]:
    """Each value of a stored context that is neither null nor of its declared type, named
    from `path`."""
    return [
        f"{path}.{name}: must be {wanted}, not {_shown(context[name])}"
        for name, (valid, wanted) in CONTEXT_FIELDS.items()
        if context.get(name) is not None and not valid(context[name])
    ]


def _shown(value: Any) -> str:
    # A text is quoted: "not this string" would not say why "false" is no boolean.
    if isinstance(value, str):
        quoted = json.dumps(value)
        return "the string " + (quoted if len(quoted) <= 40 else quoted[:36] + '..."')
    return f"this {json_kind(value)}"


def stored_context(stored: Any, path: str) -> dict[str, Any] | None:
    """The context the old system stored at `path` (None when it stored none), each value
    of its declared type: a value of another type ("false" as a flag, a list as an id) is
    refused, naming its path, rather than read by truthiness."""
    if stored is None:
        return None
    if not isinstance(stored, Mapping):
        raise InvalidInput(f"{path}: must be an object, not this {json_kind(stored)}")
    if errors := context_errors(stored, path):
        raise InvalidInput("The stored context holds values of the wrong type", errors)
    context = {key: stored.get(key) for key in CONTEXT_KEYS}
    context["onboardingUserCreated"] = stored.get("onboardingUserCreated") is True
    context["menuImportSucceeded"] = stored.get("menuImportSucceeded") is True
    return context


def unmet_dependencies(statuses: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One error per dependency of an imported completed sub-step that is neither completed
    nor skipped, found by the rule a mark to completed keeps (a sub-step not listed is
    pending)."""
    stored = {k: str(statuses.get(k, {}).get("status", _S.PENDING)) for k in PLAN.keys}
    errors: list[str] = []
    for key in PLAN.keys:
        if stored[key] == _S.COMPLETED:
            # As a mark to completed from pending would find it: the same rule, said of this
            # import ("Cannot mark X as completed: Y is failed" -> "Cannot import X ...").
            check = check_edit(stored | {key: _S.PENDING}, key, _S.COMPLETED)
            errors += [
                f"Cannot import {key} as completed: {error.partition(': ')[2]}"
                for error in check.errors
            ]
    return errors


def interrupted_warning(key: str, status: str, fate: str | None = None) -> str:
    """What the import says of a sub-step the old system left `status` (outcome unknown),
    with what a resume will do with it once that is known (`fate`)."""
    said = f"{key} was {status} in the old system: imported as failed"
    return f"{said}, {fate}" if fate else said


def resume_fates(job: RegistrationJob, keys: Iterable[str]) -> dict[str, str]:
    """What the job's resume plan does with each of `keys`: runs it, or skips it and why."""
    runs = job.resume_plan().sub_steps
    switched_off = job.switched_off()
    fates: dict[str, str] = {}
    for key in keys:
        condition = PLAN.sub_step(key).runs_if
        if key in runs:
            fates[key] = "resume re-runs it"
        elif key in switched_off:
            fates[key] = f"resume skips it: {switched_off[key]}"
        elif condition is not None:
            fates[key] = f"resume skips it: {condition.unmet_reason}"
        else:
            fates[key] = "resume does not run it"
    return fates
