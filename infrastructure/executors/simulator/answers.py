"""What the simulated registration API answers when a call succeeds, per sub-step."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from domain.plan import SubStep

Answer = dict[str, Any]
_NAMESPACE = uuid.UUID("6f0b5f9e-5a7e-4c55-9a53-2f8f0f1c7a10")


class Request:
    """A call being answered: its idempotency key, JSON payload and path parameters."""

    def __init__(self, key: str, payload: Mapping[str, Any], path: Mapping[str, str]) -> None:
        self.key = key
        self.payload = payload
        self.path = path

    def id(self, name: str) -> str:
        """A stable uuid for `name`, the same whenever this key is executed."""
        return str(uuid.uuid5(_NAMESPACE, f"{self.key}:{name}"))

    def count(self, name: str, default: int) -> int:
        """The length of the payload's list `name`, else `default`."""
        value = self.payload.get(name)
        return len(value) if isinstance(value, list) else default

    def text(self, *names: str) -> str | None:
        """The first of the payload's fields `names` that is a string."""
        found = (self.payload.get(n) for n in names)
        return next((v for v in found if isinstance(v, str)), None)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _code_generation(r: Request) -> Answer:
    injection = r.id("codeInjection")
    paths = [f"code-injections/{injection}/head.html", f"code-injections/{injection}/body.html"]
    return {"codeInjectionId": injection, "generatedAt": _now(), "filePaths": paths}


_ANSWERS: dict[str, Callable[[Request], Answer]] = {
    "cloudwaitressAccount": lambda r: {"accountId": r.id("account"), "userId": r.id("user")},
    "codeGeneration": _code_generation,
    "createOnboardingUser": lambda r: {"onboardingUserId": r.id("onboardingUser")},
    "uploadImages": lambda r: {
        "menuId": r.path.get("menuId"),
        "uploadedCount": r.count("images", 12),
    },
    "restaurantRegistration": lambda r: {"restaurantId": r.id("restaurant")},
    "websiteConfig": lambda r: {
        "websiteId": r.id("website"),
        "codeInjectionId": r.text("codeInjectionId"),
    },
    "servicesConfig": lambda r: {"servicesConfigured": r.count("services", 3)},
    "paymentConfig": lambda r: {"paymentConfigId": r.id("payment"), "provider": "stripe"},
    "menuImport": lambda r: {
        "menuId": r.text("menuId", "menu_id") or r.id("menu"),
        "itemCount": r.count("items", 24),
    },
    "syncOnboardingUser": lambda r: {"onboardingRecordId": r.id("onboardingRecord")},
    "optionSets": lambda r: {"optionSetCount": r.count("optionSets", 4)},
    "itemTags": lambda r: {"tagCount": r.count("itemTags", 6)},
}


def success_answer(step: SubStep, request: Request) -> Answer:
    """The `success: true` answer of `step`, never echoing a secret from the payload."""
    answer = _ANSWERS.get(step.key)
    fields = answer(request) if answer is not None else {}
    return {"success": True, **fields, "completedAt": _now()}
