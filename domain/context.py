"""The context later sub-steps need, folded from sub-step statuses and results."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.status import SubStepStatus

CONTEXT_KEYS = (
    "codeInjectionId",
    "codeInjectionGeneratedAt",
    "codeGenerationFilePaths",
    "onboardingUserCreated",
    "menuImportSucceeded",
)


def fold_context(
    statuses: Mapping[str, str],
    results: Mapping[str, Mapping[str, Any]],
    imported: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Context from what is completed now; an imported context fills what results lack."""
    completed = {k for k, s in statuses.items() if s == SubStepStatus.COMPLETED}
    known = dict(imported or {})
    code: Mapping[str, Any] = results.get("codeGeneration", {})
    context: dict[str, Any] = {
        "codeInjectionId": None,
        "codeInjectionGeneratedAt": None,
        "codeGenerationFilePaths": None,
        "onboardingUserCreated": "createOnboardingUser" in completed,
        "menuImportSucceeded": "menuImport" in completed,
    }
    if "codeGeneration" in completed:
        injection = code.get("codeInjectionId", known.get("codeInjectionId"))
        paths = code.get("filePaths", known.get("codeGenerationFilePaths"))
        context["codeInjectionId"] = injection
        context["codeInjectionGeneratedAt"] = code.get(
            "codeInjectionGeneratedAt",
            code.get("generatedAt", known.get("codeInjectionGeneratedAt")),
        )
        context["codeGenerationFilePaths"] = paths if paths or injection else True
    context["results"] = {k: dict(results.get(k, {})) for k in statuses if k in completed}
    return context
