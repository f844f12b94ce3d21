"""The simulator's configuration and fault injection: which calls fail, how, how often."""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.plan import SUB_STEPS, SubStep

MOST_SECONDS = 3600.0
"""The longest any of the simulator's durations may be: a Retry-After, a hang, a latency."""
Seconds = Annotated[float, Field(ge=0, le=MOST_SECONDS, allow_inf_nan=False)]

FaultKind = Literal[
    "unavailable", "cloudflare", "timeout", "rate_limited", "bad_request", "success_false"
]

CLOUDFLARE_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>registration.example.com | 520: Web server is "
    "returning an unknown error</title></head><body><h1>Web server is returning an unknown "
    "error</h1><p>Error code 520</p><p>Cloudflare Ray ID: 8f1c2d3e4a5b6c7d</p></body></html>"
)


RATE_LIMITED_RETRY_AFTER = 1.0  # a 429's Retry-After when a rule names none
# A rule's `endpoint`: a sub-step key, an endpoint template, or a path one of them serves.
_NAMED = {name for step in SUB_STEPS for name in (step.key, step.endpoint)}


def _path_pattern(template: str) -> re.Pattern[str]:
    """The paths `template` serves: each `{name}` one path segment."""
    parts = re.split(r"(\{[^}]*\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


_PATHS = tuple(_path_pattern(step.endpoint) for step in SUB_STEPS)


def _called(endpoint: str) -> bool:
    """Whether some call of Step 6 is named by `endpoint`."""
    return endpoint in _NAMED or any(path.fullmatch(endpoint) for path in _PATHS)


def _names_nothing(what: str, endpoint: str) -> ValueError:
    keys = ", ".join(step.key for step in SUB_STEPS)
    return ValueError(
        f"{what} {endpoint!r} names no call of Step 6: give a sub-step key ({keys}), an "
        "endpoint template or a path one serves"
    )


class FaultRule(BaseModel):
    """One injected fault: which calls it hits, what they get back, and how many times."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: FaultKind
    endpoint: str | None = Field(
        default=None, description="endpoint template, path or sub-step key; none: every one"
    )
    job: str | None = Field(default=None, description="job id; none: every job")
    times: int | None = Field(default=None, ge=1, description="none: every matching call")
    per_job: bool = Field(
        default=True, description="count `times` for each job and sub-step, else in total"
    )
    retry_after: Seconds | None = Field(
        default=None,
        description="Retry-After in seconds, 0 to an hour (3600): of a rate_limited 429 (none: "
        "1 s), or sent with an unavailable 503 (none: no Retry-After)",
    )
    hang: float | None = Field(
        default=None,
        gt=0,
        le=MOST_SECONDS,
        allow_inf_nan=False,
        description="a timeout's hang in seconds, at most an hour (3600); none: until hung up on",
    )

    @field_validator("endpoint")
    @classmethod
    def _endpoint_is_called(cls, endpoint: str | None) -> str | None:
        if endpoint is not None and not _called(endpoint):
            raise _names_nothing("endpoint", endpoint)
        return endpoint

    @model_validator(mode="after")
    def _what_the_kind_sends(self) -> FaultRule:
        if self.retry_after is not None and self.kind not in ("rate_limited", "unavailable"):
            raise ValueError(
                f"retry_after is sent only by rate_limited and unavailable faults, not {self.kind}"
            )
        if self.hang is not None and self.kind != "timeout":
            raise ValueError(f"hang is a timeout fault's, not {self.kind}'s")
        return self

    def matches(self, step: SubStep, path: str, job: str | None) -> bool:
        """Whether a call of `step` at `path` for `job` is one this rule targets."""
        endpoint_ok = self.endpoint in (None, step.endpoint, step.key, path)
        return endpoint_ok and self.job in (None, job)


class CapacityFault(BaseModel):
    """Beyond `limit` calls in flight at once, the API answers 429 with a Retry-After."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    limit: int = Field(ge=1, description="calls the API serves at once")
    retry_after: Seconds = Field(
        default=1.0, description="Retry-After of the 429, in seconds: 0 to an hour (3600)"
    )


class FaultSettings(BaseModel):
    """The parts of the configuration that can change at run time."""

    model_config = ConfigDict(extra="forbid")

    faults: list[FaultRule] = Field(default_factory=list)
    capacity: CapacityFault | None = Field(default=None, description="none: no capacity limit")
    latency: dict[str, Seconds] | None = Field(
        default=None,
        description="seconds per endpoint template or sub-step key, 0 to an hour (3600); '*': "
        "default",
    )

    @field_validator("latency")
    @classmethod
    def _latency_of_calls(cls, latency: dict[str, float] | None) -> dict[str, float] | None:
        for name in latency or {}:
            if name != "*" and name not in _NAMED:
                raise _names_nothing("latency", name)
        return latency


KEPT_AT_MOST = 1_000_000


class SimulatorConfig(FaultSettings):
    """How the simulated registration API behaves; loadable from a JSON file."""

    service_key: str | None = None
    # The windows are byte rings allocated in full at start: a kept call takes about 240 bytes,
    # an answer about 220 (its text, a key digest, its place in the ring and the key table).
    # Answers must outlast the engine's longest backoff (60 s) for a retried call to be
    # answered by replay: an embedded simulator served about 1,100 calls a second in the soak
    # bench (12,000 calls in 10 to 13 s), and 72,000 answers cover 60 s up to 1,200 a second
    # (about 16 MB). Calls are kept for inspection only. Each is at most a million (about
    # 240 MB): a larger ring is memory the machine may not have, allocated before the first call.
    keep_calls: int = Field(
        default=20_000, ge=1, le=KEPT_AT_MOST, description="latest calls kept for /calls"
    )
    keep_answers: int = Field(
        default=72_000,
        ge=1,
        le=KEPT_AT_MOST,
        description="latest answers kept to replay a repeated key",
    )

    @classmethod
    def from_json_file(cls, path: str | Path) -> SimulatorConfig:
        """The configuration stored as JSON at `path`."""
        return cls.model_validate_json(Path(path).read_text(encoding="utf-8"))


def latency_of(latency: dict[str, float], step: SubStep) -> float:
    """The configured latency of `step`, by endpoint, by key, else the '*' default."""
    for name in (step.endpoint, step.key, "*"):
        if name in latency:
            return latency[name]
    return 0.0


class FaultBook:
    """Fault rules with a count of how often each has struck."""

    def __init__(self, rules: Sequence[FaultRule] = ()) -> None:
        self.rules = tuple(rules)
        self._struck: Counter[tuple[int, str | None, str | None]] = Counter()

    def draw(self, step: SubStep, path: str, job: str | None) -> FaultRule | None:
        """The first rule that strikes this call, counting it; None lets the call through."""
        for index, rule in enumerate(self.rules):
            if not rule.matches(step, path, job):
                continue
            if rule.times is None:
                return rule
            tally = (index, job, step.key) if rule.per_job else (index, None, None)
            if self._struck[tally] < rule.times:
                self._struck[tally] += 1
                return rule
        return None


async def fault_response(rule: FaultRule, stopping: asyncio.Event) -> web.Response:
    """The answer a fault gives; a timeout hangs until hung up on, stopped, or `hang` ends."""
    if rule.kind == "timeout":
        return await _hang(rule.hang, stopping)
    if rule.kind == "cloudflare":
        return web.Response(status=520, text=CLOUDFLARE_PAGE, content_type="text/html")
    if rule.kind == "rate_limited":
        seconds = RATE_LIMITED_RETRY_AFTER if rule.retry_after is None else rule.retry_after
        return _refusal(429, "Too many requests (simulated)", {"Retry-After": f"{seconds:g}"})
    if rule.kind == "bad_request":
        return _refusal(400, "Validation failed (simulated permanent fault)")
    if rule.kind == "success_false":
        return _refusal(200, "The registration was refused (simulated)")
    headers = {} if rule.retry_after is None else {"Retry-After": f"{rule.retry_after:g}"}
    return _refusal(503, "Service temporarily unavailable (simulated)", headers)


async def _hang(seconds: float | None, stopping: asyncio.Event) -> web.Response:
    try:
        await asyncio.wait_for(stopping.wait(), seconds)
    except TimeoutError:
        return _refusal(504, "Gateway timeout (simulated)")
    return _refusal(503, "The simulator is stopping")


def over_capacity(capacity: CapacityFault) -> web.Response:
    """The answer to a call beyond the API's capacity."""
    headers = {"Retry-After": f"{capacity.retry_after:g}"}
    return _refusal(429, "Too many requests in flight (simulated capacity)", headers)


def _refusal(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {"success": False, "message": message}
    return web.json_response(body, status=status, headers=headers)
