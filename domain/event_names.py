"""The public name of an event's type, as the API, the timeline and the CLI show it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Dropped from the aggregate's name in a `Created` event's public name: `JobCreated`.
PRODUCT_PREFIX = "Registration"


def public_event_name(event: Any) -> str:
    """The public name of the event's type (see `public_name_of`)."""
    return public_name_of(type(event))


def public_name_of(kind: type) -> str:
    """An event class's name; a `Created` event is named after its aggregate's topic:
    `JobCreated`, `BatchCreated`, `OrganisationErasureCreated`."""
    name = kind.__name__
    if name != "Created":
        return name
    topic = str(getattr(kind, "TOPIC", ""))
    aggregate = topic.rpartition(".")[0].rpartition(":")[2]
    return aggregate.removeprefix(PRODUCT_PREFIX) + name


def event_reason(data: Mapping[str, Any]) -> str | None:
    """The reason an event records, as the timeline, the API and the CLI show it: a refused
    edit holds its reason inside the edit it records."""
    reason = data.get("reason") or (data.get("edit") or {}).get("reason")
    return reason if isinstance(reason, str) else None
