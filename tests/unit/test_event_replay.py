"""Replaying an aggregate the store's way gives what the library's way gives, event for event.

The store maps one aggregate's rows to events in one loop (`SealingMapper.events_of`) and
folds them without calling each event's `mutate` (`fold_events`). These tests try to make
either differ from the library's `Mapper.to_domain_event` and `event.mutate`: arbitrary
event data, old class versions that must be upcast, ids given as text, topics of several
classes interleaved, damaged ciphertext, events of another aggregate, versions out of order.
"""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.cryptography import AESCipher
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)
from eventsourcing.utils import Environment
from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.keys.sealing import SealingMapper
from infrastructure.keys.store_cipher import StoreCipher
from infrastructure.transcoder import FastJSONTranscoder
from infrastructure.usecases.snapshots import SNAPSHOT_TRANSCODINGS, fold_events


class Ledger(Aggregate):
    """An aggregate whose events carry arbitrary documents."""

    def __init__(self, opening: Any) -> None:
        self.entries: list[Any] = [opening]
        self.notes: dict[str, Any] = {}
        self.last: Any = None

    @event("Entered")
    def enter(self, value: Any) -> None:
        self.entries.append(value)
        self.last = value

    @event("Noted")
    def note(self, key: str, value: Any) -> None:
        self.notes[key] = value

    class Reworded(Aggregate.Event):
        """Version 2 renamed `text` to `words` and added `by`."""

        class_version = 3
        words: Any
        by: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["words"] = state.pop("text")

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["by"] = "someone"

        def apply(self, ledger: Any) -> None:
            ledger.last = (self.words, self.by)


KEY = base64.b64encode(os.urandom(32)).decode()


def mappers() -> tuple[SealingMapper, Mapper[UUID]]:
    """The store's mapper (orjson, cached cipher) and the library's own, on one key."""
    env = Environment(env={"CIPHER_KEY": KEY})
    fast, library = FastJSONTranscoder(), JSONTranscoder()
    for transcoder in (fast, library):
        for transcoding in (UUIDAsHex, DecimalAsStr, DatetimeAsISO, *SNAPSHOT_TRANSCODINGS):
            transcoder.register(transcoding())
    return SealingMapper(fast, cipher=StoreCipher(env)), Mapper(library, cipher=AESCipher(env))


STORE, LIBRARY = mappers()

texts = st.text(alphabet=st.characters(blacklist_categories=["Cs"]))
values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False),
        texts,
        st.datetimes(timezones=st.just(UTC)),
        st.uuids(),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)),
    max_leaves=8,
)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("enter"), values),
        st.tuples(st.just("note"), texts, values),
        st.tuples(st.just("reword"), values, st.sampled_from([1, 2, 3])),
    ),
    max_size=12,
)


def recorded(opening: Any, made: list[tuple[Any, ...]]) -> tuple[Ledger, list[StoredEvent]]:
    """A ledger's events as the library's mapper stores them, old class versions included."""
    ledger = Ledger(opening)
    for step in made:
        if step[0] == "enter":
            ledger.enter(step[1])
        elif step[0] == "note":
            ledger.note(step[1], step[2])
        else:
            ledger.trigger_event(Ledger.Reworded, words=step[1], by="me")
    stored = []
    for domain_event in ledger.collect_events():
        row = LIBRARY.to_stored_event(domain_event)
        version = getattr(type(domain_event), "class_version", 1)
        wanted = next((s[2] for s in made if s[0] == "reword"), 3)
        if version == 3 and wanted < 3:  # written by an older class: the library's layout
            state = LIBRARY.transcoder.decode(LIBRARY.cipher.decrypt(row.state))  # type: ignore[union-attr]
            state["class_version"] = wanted
            if wanted == 1:
                state["text"] = state.pop("words")
            del state["by"]
            sealed = LIBRARY.cipher.encrypt(LIBRARY.transcoder.encode(state))  # type: ignore[union-attr]
            row = StoredEvent(row.originator_id, row.originator_version, row.topic, sealed)
        stored.append(row)
    return ledger, stored


def reading(read: Any) -> list[tuple[type[Any], dict[str, Any]]] | tuple[str, str]:
    try:
        return [(type(e), vars(e)) for e in read()]
    except Exception as exc:
        return ("raised", f"{type(exc).__name__}: {exc}")


def rows_of(stored: list[StoredEvent]) -> list[tuple[int, str, bytes]]:
    return [(s.originator_version, s.topic, s.state) for s in stored]


@settings(max_examples=150, deadline=None)
@given(values, steps, st.booleans())
def test_rows_map_to_the_events_the_library_maps(opening: Any, made: Any, as_text: bool) -> None:
    ledger, stored = recorded(opening, made)
    given_id: Any = str(ledger.id) if as_text else ledger.id
    texts = [StoredEvent(given_id, s.originator_version, s.topic, s.state) for s in stored]
    ours = reading(lambda: list(STORE.events_of(given_id, rows_of(stored))))
    theirs = reading(lambda: [LIBRARY.to_domain_event(s) for s in texts])
    assert ours == theirs
    assert ours == reading(lambda: [STORE.to_domain_event(s) for s in texts])
    assert isinstance(ours, list)
    assert all(type(state["originator_id"]) is UUID for _, state in ours)


@settings(max_examples=60, deadline=None)
@given(values, steps, st.data())
def test_a_damaged_row_fails_as_the_library_fails(opening: Any, made: Any, data: Any) -> None:
    ledger, stored = recorded(opening, made)
    at = data.draw(st.integers(min_value=0, max_value=len(stored) - 1))
    damaged = bytearray(stored[at].state)
    flip = data.draw(st.integers(min_value=0, max_value=len(damaged) - 1))
    damaged[flip] ^= 1
    cut = data.draw(st.sampled_from([len(damaged), 27, 11, 0]))
    s = stored[at]
    stored[at] = StoredEvent(s.originator_id, s.originator_version, s.topic, bytes(damaged[:cut]))
    ours = reading(lambda: list(STORE.events_of(ledger.id, rows_of(stored))))
    theirs = reading(lambda: [LIBRARY.to_domain_event(s) for s in stored])
    assert ours == theirs
    assert ours[0] == "raised"


class Overriding(SealingMapper):
    """A mapper reading each event its own way: `events_of` must go through it."""

    def _library_event(self, stored_event: StoredEvent) -> Any:
        found = super()._library_event(stored_event)
        found.__dict__["seen"] = True
        return found


class Marking(SealingMapper):
    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        found = super().to_domain_event(stored_event)
        found.__dict__["seen"] = True
        return found


def test_a_mapper_that_reads_events_its_own_way_is_used_for_rows() -> None:
    ledger, stored = recorded({"a": 1}, [("enter", 2)])
    for kind in (Overriding, Marking):
        overriding = kind(STORE.transcoder, cipher=STORE.cipher)
        assert all(vars(e)["seen"] for e in overriding.events_of(ledger.id, rows_of(stored)))


def folded(events: list[Any], fold: Any) -> Any:
    try:
        aggregate = fold(events)
    except Exception as exc:
        return ("raised", type(exc), exc.args)
    return {k: v for k, v in vars(aggregate).items() if k != "_pending_events"}


def library_fold(events: list[Any]) -> Any:
    aggregate: Any = None
    for domain_event in events:
        aggregate = domain_event.mutate(aggregate)
    return aggregate


@settings(max_examples=150, deadline=None)
@given(values, steps, st.data())
def test_the_fold_equals_the_librarys_mutate(opening: Any, made: Any, data: Any) -> None:
    ledger, stored = recorded(opening, made)
    events = list(STORE.events_of(ledger.id, rows_of(stored)))
    other, other_stored = recorded(opening, made)
    other_events = list(STORE.events_of(other.id, rows_of(other_stored)))
    mixed = list(events)
    change = data.draw(st.sampled_from(["none", "swap", "drop", "foreign", "id-as-text"]))
    if change == "swap" and len(mixed) > 2:
        mixed[1], mixed[2] = mixed[2], mixed[1]
    elif change == "drop" and len(mixed) > 2:
        del mixed[1]
    elif change == "foreign" and len(mixed) > 1:
        mixed[-1] = other_events[-1]
    elif change == "id-as-text" and len(mixed) > 1:
        # an equal id that is another object: compared by value, as the library compares
        mixed[1].__dict__["originator_id"] = UUID(str(ledger.id))
    expected = folded(mixed, library_fold)
    assert folded(list(mixed), lambda e: fold_events(None, e)) == expected
    if change == "none" and next((s[2] for s in made if s[0] == "reword"), 3) == 3:
        assert expected == {k: v for k, v in vars(ledger).items() if k != "_pending_events"}


def test_the_fold_continues_from_an_aggregate() -> None:
    ledger, stored = recorded([1], [("enter", 2), ("note", "k", datetime(2026, 1, 1, tzinfo=UTC))])
    events = list(STORE.events_of(ledger.id, rows_of(stored)))
    start = library_fold(events[:1])
    assert folded(events[1:], lambda e: fold_events(start, e)) == folded(events, library_fold)
