"""The executor port: how the engine asks for one external call of a sub-step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class SubStepCall:
    """One attempt of one sub-step against the registration API."""

    job_id: str
    organisation_id: str
    sub_step: str
    endpoint: str
    idempotency_key: str
    attempt: int
    payload: dict[str, Any]
    timeout: float = 30.0
    traceparent: str | None = None


@dataclass(frozen=True)
class CallOutcome:
    """What came back: a result, or a classified error (transient or permanent)."""

    ok: bool
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    transient: bool = False
    retry_after: float | None = None
    status: int | None = None
    # False when the call was never sent: the store could not be read just before it. Such
    # an attempt tells nothing of the registration API, and does not count against the policy.
    made: bool = True


# A call whose organisation's data was erased is never made: it fails, permanently, with this.
ERASED_DATA_CALL = CallOutcome(
    ok=False, error="the organisation's data was erased: this call cannot be made"
)


class Executor(Protocol):
    """Runs sub-step calls; adapters: the HTTP client and the in-process simulator."""

    async def call(self, call: SubStepCall) -> CallOutcome: ...

    async def close(self) -> None: ...
