"""Errors reading a stored log that mean it was changed by hand, said as what is wrong."""

from __future__ import annotations

from eventsourcing.domain import OriginatorVersionError
from eventsourcing.persistence import MapperDeserialisationError, OperationalError

from infrastructure.chain.hashing import canonical_id
from infrastructure.chain.verify import ChainBroken
from infrastructure.event_store import VersionsSkipped

FIND_TAMPERING = "run `regflow verify-log` to find every tampered event"
UNREADABLE = (
    VersionsSkipped,
    ChainBroken,
    OriginatorVersionError,
    MapperDeserialisationError,
    OperationalError,
)


def unreadable_log(exc: BaseException, aggregate: str | None = None) -> str | None:
    """What is wrong with the stored log of `aggregate` (None: of the one `exc` names), if
    `exc` says it was tampered with (None: `exc` is about something else, such as the
    database being unavailable)."""
    if isinstance(exc, VersionsSkipped):
        return str(exc)
    if isinstance(exc, ChainBroken):
        return exc.said_of(aggregate or f"aggregate {exc.problems[0].originator_id}")
    if isinstance(exc, OriginatorVersionError) and len(exc.args) == 2:
        found, expected = exc.args
        return (
            f"the stored events of {aggregate or 'an aggregate'} are out of sequence: version "
            f"{found} is stored where version {expected} should be (an event deleted or "
            "renumbered)"
        )
    if isinstance(exc, MapperDeserialisationError):
        return f"a stored event cannot be read: {exc} (edited, or sealed with another key)"
    if isinstance(exc, OperationalError) and "Could not decode" in str(exc):
        return "a stored event's state is stored as text, not bytes (edited by hand)"
    return None


def tampered_aggregate(exc: BaseException) -> str | None:
    """The id of the aggregate whose log `exc` says was changed by hand, if it names one."""
    if isinstance(exc, VersionsSkipped):
        return canonical_id(exc.originator_id)
    if isinstance(exc, ChainBroken):
        return exc.problems[0].originator_id
    return None
