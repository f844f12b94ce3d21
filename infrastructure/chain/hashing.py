"""A per-aggregate hash chain over stored events: each hash covers the event and its predecessor."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from eventsourcing.persistence import StoredEvent

Position = tuple[str, int]


@lru_cache(maxsize=8192)
def canonical_id(originator_id: UUID | str) -> str:
    """One spelling of an aggregate id, whichever way a database returns it.

    Remembered for the ids at work: a save asks it several times per event (its
    predecessor, the recent hashes, the hash itself), and parsing or printing a UUID
    was a tenth of the store thread's time.
    """
    if isinstance(originator_id, UUID):
        return str(originator_id)
    try:
        return str(UUID(originator_id))
    except ValueError:
        return originator_id


def chain_key(cipher_key: str | None) -> bytes | None:
    """The chain's HMAC key, derived from the store's cipher key (None: plain SHA-256)."""
    if not cipher_key:
        return None
    return hashlib.sha256(b"regflow: event chain" + base64.b64decode(cipher_key)).digest()


def event_hash(
    previous: bytes | None,
    originator_id: UUID | str,
    version: int,
    topic: str,
    state: bytes,
    key: bytes | None = None,
) -> bytes:
    """HMAC-SHA-256 (or SHA-256 without a key) over the previous hash and the event's fields."""
    digest = hmac.new(key, digestmod=hashlib.sha256) if key else hashlib.sha256()
    parts = (
        previous or b"",
        canonical_id(originator_id).encode(),
        str(version).encode(),
        topic.encode(),
        bytes(state),
    )
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


@dataclass(frozen=True)
class Link:
    """The chain entry stored beside one event."""

    originator_id: UUID | str
    version: int
    hash: bytes
    previous_hash: bytes | None


@dataclass(frozen=True)
class ChainRow:
    """An event position as read back: the event (None when missing) and its entry (if any)."""

    originator_id: UUID | str
    version: int
    topic: str | None
    state: bytes | None
    hash: bytes | None
    previous_hash: bytes | None
    position: int | None = None
    state_type: str | None = None

    @classmethod
    def of(cls, oid: UUID | str, version: int, *columns: Any) -> ChainRow:
        """A row from the columns CHAIN_ROWS and ORPHAN_LINKS select, in their order."""
        topic, state, digest, prior, *rest = columns
        return cls(
            oid,
            version,
            topic,
            None if state is None else bytes(state),
            None if digest is None else bytes(digest),
            None if prior is None else bytes(prior),
            *rest,
        )


# Both recorders read the chain with these, naming their own {events} and {chain} tables, and
# their {state} bytes, event {position} (notification id) and {state_type} (the stored cell's
# type where a column can hold other types than bytes, else NULL).
_EVENTS_WITH_LINKS = (
    "SELECT e.originator_id, e.originator_version, e.topic, {state}, c.hash, "
    "c.previous_hash, {position} AS event_position, {state_type} AS state_type "
    "FROM {events} e LEFT JOIN {chain} c "
    "ON c.originator_id = e.originator_id AND c.originator_version = e.originator_version "
)
CHAIN_ROWS = _EVENTS_WITH_LINKS + "ORDER BY e.originator_id, e.originator_version"
ORPHAN_LINKS = (
    "SELECT c.originator_id, c.originator_version, NULL AS topic, NULL AS state, c.hash, "
    "c.previous_hash, NULL AS event_position, NULL AS state_type "
    "FROM {chain} c WHERE NOT EXISTS (SELECT 1 FROM {events} e "
    "WHERE e.originator_id = c.originator_id AND e.originator_version = c.originator_version)"
)
# The same for one aggregate, whose id the recorder's placeholder {id} stands for.
AGGREGATE_CHAIN_ROWS = _EVENTS_WITH_LINKS + "WHERE e.originator_id = {id}"
AGGREGATE_ORPHAN_LINKS = ORPHAN_LINKS + " AND c.originator_id = {id}"

# The chain's start: one row, the highest event position stored when the chain table was made
# (or, in a store whose chain table is older than this row, when the row was first recorded).
# Every event after it was written with a chain entry.
CHAIN_START = "SELECT notification_id FROM {start}"


def predecessors(stored_events: Sequence[StoredEvent]) -> list[tuple[UUID | str, int]]:
    """Positions whose stored hashes the new events need (those not within the batch)."""
    seen: set[Position] = set()
    needed: list[tuple[UUID | str, int]] = []
    for event in stored_events:
        oid = canonical_id(event.originator_id)
        seen.add((oid, event.originator_version))
        if event.originator_version > 1 and (oid, event.originator_version - 1) not in seen:
            needed.append((event.originator_id, event.originator_version - 1))
    return needed


def links_for(
    stored_events: Sequence[StoredEvent],
    previous: Mapping[Position, bytes],
    key: bytes | None = None,
) -> list[Link]:
    """Chain entries for a batch, linking each event to its aggregate's prior hash."""
    known = dict(previous)
    links: list[Link] = []
    for event in stored_events:
        oid = canonical_id(event.originator_id)
        prior = known.get((oid, event.originator_version - 1))
        digest = event_hash(prior, oid, event.originator_version, event.topic, event.state, key)
        known[(oid, event.originator_version)] = digest
        links.append(Link(event.originator_id, event.originator_version, digest, prior))
    return links


class RecentHashes:
    """The last hash this process stored per aggregate, so most appends need no lookup.

    Only aggregates at work are worth remembering: one whose event has a topic in
    `resting_topics` (a job that completed, failed or was cancelled) is forgotten, so the
    cache holds live work rather than history. A forgotten or evicted aggregate's next append
    reads its predecessor's hash from the chain table instead.
    """

    def __init__(self, capacity: int = 20_000, resting_topics: frozenset[str] = frozenset()):
        self.capacity = capacity
        self.resting_topics = resting_topics
        self._last: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._last)

    def known(self, positions: Sequence[tuple[UUID | str, int]]) -> dict[Position, bytes]:
        """The stored hashes of `positions` this process remembers."""
        found: dict[Position, bytes] = {}
        with self._lock:
            for oid, version in positions:
                key = canonical_id(oid)
                last = self._last.get(key)
                if last is not None and last[0] == version:
                    found[(key, version)] = last[1]
        return found

    def remember(self, links: Sequence[Link], topics: Sequence[str] = ()) -> None:
        """Note hashes that were committed; `topics`, when given, are their events' topics."""
        resting = self.resting_topics
        with self._lock:
            for index, link in enumerate(links):
                key = canonical_id(link.originator_id)
                if resting and index < len(topics) and topics[index] in resting:
                    self._last.pop(key, None)
                    continue
                self._last[key] = (link.version, link.hash)
                self._last.move_to_end(key)
            while len(self._last) > self.capacity:
                self._last.popitem(last=False)


@runtime_checkable
class ChainedRecorder(Protocol):
    """A recorder that writes chain entries and can read them back for verification."""

    chain_table_name: str
    chain_key: bytes | None

    def chain_rows(self) -> Iterator[ChainRow]:
        """Every stored event with its chain entry, by aggregate then version."""
        ...

    def orphan_links(self) -> list[ChainRow]:
        """Chain entries whose event is no longer stored."""
        ...

    def chain_start(self) -> int | None:
        """The position after which every event has a chain entry (None: not recorded)."""
        ...

    def aggregate_chain_rows(self, originator_id: UUID | str) -> list[ChainRow]:
        """One aggregate's stored events with their chain entries, and its chain entries whose
        event is no longer stored, by version."""
        ...
