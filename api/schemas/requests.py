"""What requests may carry: bodies (unknown fields refused) and query parameters (unknown ones
ignored), checked by pydantic before a handler sees them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.limits import MAX_NAME, MAX_REASON

EditStatus = Literal["completed", "failed", "skipped", "pending"]
MAX_ITEMS = 10_000


class Body(BaseModel):
    """A request body: unknown fields are refused so typos do not pass silently."""

    model_config = ConfigDict(extra="forbid")


class Query(BaseModel):
    """Query parameters: unknown ones (cache busters) are ignored."""

    model_config = ConfigDict(extra="ignore")


class RestaurantIn(BaseModel):
    """One restaurant of a new batch, with its execution_config."""

    model_config = ConfigDict(extra="allow")
    name: str = Field(min_length=1, max_length=MAX_NAME)
    external_id: str | None = Field(default=None, max_length=200)
    execution_config: dict[str, Any] = Field(default_factory=dict)


class CreateBatch(Body):
    """POST /api/registration-batches."""

    name: str = Field(min_length=1, max_length=MAX_NAME)
    restaurants: list[RestaurantIn] = Field(min_length=1, max_length=MAX_ITEMS)

    def restaurant_records(self) -> list[dict[str, Any]]:
        """The restaurants as the use-case layer takes them."""
        return [r.model_dump(exclude_none=True) for r in self.restaurants]


class StartStep6(Body):
    """POST /{batchId}/step-6/start: every job, or only `job_ids`."""

    job_ids: list[str] | None = Field(default=None, max_length=MAX_ITEMS)


class Reasoned(Body):
    """A command that may carry the operator's reason."""

    reason: str | None = Field(default=None, max_length=MAX_REASON)


class Resume(Reasoned):
    """POST .../resume-step-6: `dry_run` answers the plan without recording anything."""

    dry_run: bool = False


class Reset(Reasoned):
    """POST .../sub-steps/{subStepKey}/reset."""

    dry_run: bool = False


class SubStepEdit(Reasoned):
    """PATCH .../sub-steps/{subStepKey}."""

    status: EditStatus
    result: dict[str, Any] | None = None
    dry_run: bool = False


class BulkItem(Reasoned):
    """One edit of a bulk PATCH."""

    sub_step: str = Field(min_length=1, max_length=100)
    status: EditStatus
    result: dict[str, Any] | None = None


class BulkEdit(Reasoned):
    """PATCH .../sub-steps: edits applied in order, all or none."""

    updates: list[BulkItem] = Field(min_length=1, max_length=100)
    dry_run: bool = False

    def combined_reason(self) -> str | None:
        """The body's reason, else the items' distinct reasons joined."""
        if self.reason:
            return self.reason
        reasons = dict.fromkeys(u.reason for u in self.updates if u.reason)
        return "; ".join(reasons) or None


class Page(Query):
    """?limit&offset of a list."""

    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000_000)


class EventsQuery(Query):
    """?after_version&limit of a job's events."""

    after_version: int = Field(default=0, ge=0, le=2**62)
    limit: int = Field(default=100, ge=1, le=1000)


class StateQuery(Query):
    """?at=<ISO time> or ?version=<n>; neither: the latest state."""

    at: datetime | None = None
    version: int | None = Field(default=None, ge=1, le=2**62)
