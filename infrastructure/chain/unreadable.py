"""Errors reading a stored log that mean it was changed by hand, said as what is wrong."""

from __future__ import annotations

from eventsourcing.domain import OriginatorVersionError
from eventsourcing.persistence import MapperDeserialisationError, OperationalError

from infrastructure.event_store import VersionsSkipped

FIND_TAMPERING = "run `regflow verify-log` to find every tampered event"
UNREADABLE = (VersionsSkipped, OriginatorVersionError, MapperDeserialisationError, OperationalError)


def unreadable_log(exc: BaseException, aggregate: str) -> str | None:
    """What is wrong with the stored log of `aggregate`, if `exc` says it was tampered with
    (None: `exc` is about something else, such as the database being unavailable)."""
    if isinstance(exc, VersionsSkipped):
        return str(exc)
    if isinstance(exc, OriginatorVersionError) and len(exc.args) == 2:
        found, expected = exc.args
        return (
            f"the stored events of {aggregate} are out of sequence: version {found} is stored "
            f"where version {expected} should be (an event deleted or renumbered)"
        )
    if isinstance(exc, MapperDeserialisationError):
        return f"a stored event cannot be read: {exc} (edited, or sealed with another key)"
    if isinstance(exc, OperationalError) and "Could not decode" in str(exc):
        return "a stored event's state is stored as text, not bytes (edited by hand)"
    return None
