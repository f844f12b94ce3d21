"""What requests may carry: bodies (unknown fields refused, JSON types taken as they are) and
query parameters (unknown ones ignored, text read as the type asked), checked by pydantic before
a handler sees them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from domain.exceptions import InvalidInput
from domain.execution_config import ExecutionConfig
from domain.field_paths import child_path, field_path
from domain.limits import MAX_NAME, MAX_REASON, MAX_SUB_STEP_NAME
from domain.written_values import LARGEST_STORED, moment_of, whole_number

EditStatus = Literal["completed", "failed", "skipped", "pending"]
MAX_ITEMS = 10_000
MAX_ERRORS = 100
INVALID_RESTAURANTS = "Invalid restaurants: nothing was created"


class Body(BaseModel):
    """A request body: unknown fields are refused so typos do not pass silently, and values are
    taken as the JSON types they are (strict): `"dry_run": "yes"` or `1` is not `true`."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _written(read: Callable[[str], Any]) -> Callable[[Any], Any]:
    """A query value as `read` reads the text written (None: not given)."""

    def validate(value: Any) -> Any:
        return None if value is None else read(value) if isinstance(value, str) else value

    return validate


class Query(BaseModel):
    """Query parameters: unknown ones (cache busters) are ignored; one that another read of
    the API takes is refused where it is not taken (`parsing.query`)."""

    model_config = ConfigDict(extra="ignore")


def parameter_names(model: type[BaseModel]) -> list[str]:
    """The query parameters (or body fields) `model` takes, as written."""
    return [field.alias or name for name, field in model.model_fields.items()]


def known_parameters() -> frozenset[str]:
    """Every query parameter some read of the API takes."""
    return frozenset(name for model in _kinds_of(Query) for name in parameter_names(model))


def known_body_fields() -> frozenset[str]:
    """Every field some command's body takes (`dry_run`, `reason`, ...)."""
    return frozenset(name for model in _kinds_of(Body) for name in parameter_names(model))


def _kinds_of(base: type[BaseModel]) -> list[type[BaseModel]]:
    """`base` and every class made from it."""
    models: list[type[BaseModel]] = []
    waiting = [base]
    while waiting:
        kind = waiting.pop()
        models.append(kind)
        waiting += kind.__subclasses__()
    return models


# A whole number as written in a query: decimal digits (`1.0`, `+5`, `1_0` are refused).
QueryInt = Annotated[int, BeforeValidator(_written(whole_number))]


class RestaurantIn(BaseModel):
    """One restaurant of a new batch, with its execution_config."""

    model_config = ConfigDict(extra="allow", strict=True)
    name: str = Field(min_length=1, max_length=MAX_NAME)
    external_id: str | None = Field(default=None, max_length=200)
    execution_config: dict[str, Any] = Field(default_factory=dict)


def loose_booleans(config: Mapping[str, Any], where: str) -> list[str]:
    """Each switch of a JSON execution_config (`payment.enabled`, `menu.item_tags`, ...) given
    as something other than true or false, named from `where`: the config's model reads
    `"yes"` or `1` as true, as it must for a spreadsheet's cells, but JSON says what it means."""
    try:
        ExecutionConfig.model_validate(config, strict=True)
    except ValidationError as exc:
        return [
            f"{child_path(where, field_path(e['loc']))}: {e['msg']}"
            for e in exc.errors()
            if e["type"] == "bool_type"
        ]
    return []


def restaurant_errors(
    restaurants: Sequence[Mapping[str, Any]], names: Sequence[str], sep: str, typed: bool = True
) -> list[str]:
    """What a new batch's restaurants sent `typed` as JSON break beyond each one's own model:
    an execution_config switch that is not a JSON boolean (a repeated external_id is the
    use-case layer's to refuse, whoever sends the batch). `names`: each restaurant as errors
    name it (`restaurants[2]`, `row 3`), followed by `sep` and the field."""
    errors: list[str] = []
    if typed:
        for name, restaurant in zip(names, restaurants, strict=True):
            config = restaurant.get("execution_config")
            if isinstance(config, Mapping):
                errors += loose_booleans(config, f"{name}{sep}execution_config")
    return errors


def refuse_restaurants(errors: list[str]) -> None:
    """422 listing `errors` (the first MAX_ERRORS) when there are any."""
    if errors:
        more = len(errors) - MAX_ERRORS
        shown = errors[:MAX_ERRORS] + ([f"... and {more} more"] if more > 0 else [])
        raise InvalidInput(INVALID_RESTAURANTS, shown)


class CreateBatch(Body):
    """POST /api/registration-batches."""

    name: str = Field(min_length=1, max_length=MAX_NAME)
    restaurants: list[RestaurantIn] = Field(min_length=1, max_length=MAX_ITEMS)

    @model_validator(mode="after")
    def _restaurants_are_distinct_and_typed(self) -> CreateBatch:
        """InvalidInput (422, not a ValidationError) naming repeated external ids and configs'
        switches that are not booleans (see `restaurant_errors`)."""
        records = [
            {"external_id": r.external_id, "execution_config": r.execution_config}
            for r in self.restaurants
        ]
        names = [f"restaurants[{i}]" for i in range(len(records))]
        refuse_restaurants(restaurant_errors(records, names, "."))
        return self

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

    sub_step: str = Field(min_length=1, max_length=MAX_SUB_STEP_NAME)
    status: EditStatus
    result: dict[str, Any] | None = None


class BulkEdit(Reasoned):
    """PATCH .../sub-steps: edits applied in order, all or none."""

    updates: list[BulkItem] = Field(min_length=1, max_length=100)
    dry_run: bool = False

    def combined_reason(self) -> str | None:
        """The request's reason: the body's, else the items' distinct reasons joined, cut at
        MAX_REASON characters (an item with a reason of its own is recorded with that one, in
        full: each is within the limit, and a reason the server joined is not the caller's
        to shorten)."""
        if self.reason:
            return self.reason
        joined = "; ".join(dict.fromkeys(u.reason for u in self.updates if u.reason))
        if len(joined) > MAX_REASON:
            joined = joined[: MAX_REASON - 1] + "\u2026"
        return joined or None


class EventsQuery(Query):
    """?after_version&limit of a job's events."""

    after_version: QueryInt = Field(default=0, ge=0, le=2**62)
    limit: QueryInt = Field(default=100, ge=1, le=1000)


class StateQuery(Query):
    """?at=<ISO time> or ?version=<n>; neither: the latest state. Read as `regflow state` reads
    --at and --version."""

    at: Annotated[datetime | None, BeforeValidator(_written(moment_of))] = None
    version: Annotated[int | None, BeforeValidator(_written(whole_number))] = Field(
        default=None, ge=1, le=LARGEST_STORED
    )
