"""The public name of an event's type, as the API, the timeline and the CLI show it."""

from __future__ import annotations

from typing import Any

from domain.batch import BATCH_TOPIC


def public_event_name(event: Any) -> str:
    """The event's class name; the two `Created` events are `JobCreated` and `BatchCreated`."""
    name = type(event).__name__
    if name != "Created":
        return name
    topic = str(getattr(type(event), "TOPIC", ""))
    return "BatchCreated" if topic.startswith(BATCH_TOPIC + ".") else "JobCreated"
