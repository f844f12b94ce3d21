"""Field-level encryption of events: secret and personal fields are sealed with the
organisation's data key before the store encrypts the whole event, and unsealed on read.

A field whose key was destroyed (the organisation erased) reads as the erased marker, the
same way live and on every rebuild, so folds of the log stay functions of the log. Free text
that quotes the job's personal data (`domain.quotes`: an operator's reason) is stored in
pieces, the quoted ones sealed: it reads as written, and after an erasure with each quote
erased and the rest of the text as it was.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import fields, is_dataclass, replace
from typing import Any, cast
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol, Snapshot
from eventsourcing.persistence import (
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    find_id_convertor,
)
from eventsourcing.utils import resolve_topic

from domain.erasure import OrganisationErasure
from domain.quotes import QuotingText, joined
from domain.secrets import ERASED, EVENT_FIELDS, Sensitivity, transform
from infrastructure import exact_json
from infrastructure.event_store import Row
from infrastructure.keys.ring import Keyring

SEALED = "__sealed__"
MARK = "_sealed"  # where in a stored event its sealed values are (key and index paths)
QUOTED = "_quoted"  # where its texts stored in pieces are (the quoted pieces at odd places)
BOOKKEEPING = frozenset({"originator_id", "originator_version", "timestamp"})
ORG_CACHE_SIZE = 100_000
ERASURE_TOPIC = OrganisationErasure.Created.TOPIC

OrgResolver = Callable[[UUID], "str | None"]


class UnknownOrganisation(LookupError):
    """An event to store whose aggregate's organisation cannot be found."""


def _aad(organisation_id: str, generation: int) -> bytes:
    return f"org:{organisation_id}#{generation}".encode()


class SealingMapper(Mapper[UUID]):
    """The library's mapper with secret and personal fields sealed per organisation."""

    keyring: Keyring | None = None
    resolve_org: OrgResolver | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.orgs: dict[UUID, str] = {}
        self._classes: dict[str, tuple[type[Any], int]] = {}

    def remember(self, originator_id: UUID, organisation_id: str) -> None:
        if len(self.orgs) >= ORG_CACHE_SIZE:
            self.orgs.clear()
        self.orgs[originator_id] = organisation_id

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        if self.keyring is None:
            return super().to_stored_event(domain_event)
        state = vars(domain_event)
        made: dict[int, Any] = {}  # the envelopes sealed here, by identity
        quotes: dict[int, Any] = {}  # the texts stored in pieces here, by identity
        seal = self._sealer(domain_event.originator_id, state, [], made)
        in_pieces = _in_pieces(seal, quotes)
        body = {k: v for k, v in state.items() if k not in BOOKKEEPING}
        sealed_body = transform(body, seal, EVENT_FIELDS, in_pieces)
        if isinstance(domain_event, Snapshot):
            sealed_body = _within_objects(sealed_body, seal, in_pieces)
        if not made:
            return super().to_stored_event(domain_event)
        sealed_state = state | sealed_body
        sealed_state[MARK] = list(_paths_to(sealed_body, made, []))
        if quotes:
            sealed_state[QUOTED] = list(_paths_to(sealed_body, quotes, []))
        proxy = object.__new__(type(domain_event))
        object.__setattr__(proxy, "__dict__", sealed_state)
        return super().to_stored_event(proxy)

    def _sealer(
        self,
        originator_id: UUID,
        state: dict[str, Any],
        org: list[str],
        made: dict[int, dict[str, Any]],
    ) -> Callable[[Sensitivity, Any], Any]:
        def seal(kind: Sensitivity, value: Any) -> Any:
            if value == ERASED:
                return value
            if not org:
                org.append(self._org_of(originator_id, state))
            assert self.keyring is not None
            generation, key = self.keyring.data_key(org[0])
            nonce = os.urandom(12)
            plain = exact_json.dumps(value)
            aad = _aad(org[0], generation)
            token = base64.b64encode(nonce + key.encrypt(nonce, plain, aad))
            envelope = {SEALED: token.decode(), "o": org[0], "g": generation}
            made[id(envelope)] = envelope
            return envelope

        return seal

    def _org_of(self, originator_id: UUID, state: dict[str, Any]) -> str:
        org = state.get("organisation_id") or self.orgs.get(originator_id)
        if org is None and self.resolve_org is not None:
            org = self.resolve_org(originator_id)
        if not isinstance(org, str):
            raise UnknownOrganisation(f"no organisation known for aggregate {originator_id}")
        self.remember(originator_id, org)
        return org

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        return self._unsealed(self._library_event(stored_event), stored_event.topic)

    def _unsealed(self, event: DomainEventProtocol[UUID], topic: str) -> DomainEventProtocol[UUID]:
        """The event with its sealed fields opened, its organisation remembered."""
        state = event.__dict__
        org = state.get("organisation_id")
        if isinstance(org, str):
            self.remember(event.originator_id, org)
            if topic == ERASURE_TOPIC and self.keyring is not None:
                self.keyring.forget_cached()  # the erased keys must not outlive their rows here
        for path in state.pop(MARK, None) or ():
            holder: Any = state
            for step in path[:-1]:
                holder = _step_into(holder, step)
            _put(holder, path[-1], self._open(_step_into(holder, path[-1])))
        for path in state.pop(QUOTED, None) or ():
            holder = state
            for step in path[:-1]:
                holder = _step_into(holder, step)
            pieces = _step_into(holder, path[-1])
            _put(holder, path[-1], joined((p, i % 2 == 1) for i, p in enumerate(pieces)))
        return event

    def events_of(self, originator_id: UUID | str, rows: Iterable[Row]) -> Iterator[Any]:
        """`to_domain_event` of each (version, topic, state) row of one aggregate, in order.

        What every row shares (the cipher, the decoder, the id as each class wants it, each
        topic's class) is looked up once, and no `StoredEvent` is made per row: replaying a
        long job spends most of its time in this loop. A subclass that reads events its own
        way is read through its `to_domain_event`.
        """
        mine = type(self)
        if (
            mine._library_event is not SealingMapper._library_event
            or mine.to_domain_event is not SealingMapper.to_domain_event
        ):
            for version, topic, data in rows:
                yield self.to_domain_event(StoredEvent(originator_id, version, topic, data))
            return
        classes = self._classes
        decrypt = self.cipher.decrypt if self.cipher else None
        decompress = self.compressor.decompress if self.compressor else None
        decode = self.transcoder.decode
        unsealed = self._unsealed
        ids: dict[type[Any], Any] = {}  # the id as each event class has it
        new = object.__new__
        for version, topic, data in rows:
            known = classes.get(topic) or self._known(topic)
            cls, class_version = known
            try:
                if decrypt is not None:
                    data = decrypt(data)
                if decompress is not None:
                    data = decompress(data)
                state: dict[str, Any] = decode(data)
            except Exception as e:
                raise _undecodable(topic, originator_id, version, e) from e
            converted = ids.get(cls)
            if converted is None:
                convert = find_id_convertor(
                    cast(Hashable, cls), cast(Hashable, type(originator_id))
                )
                converted = ids[cls] = convert(originator_id)
            state["originator_id"] = converted
            state["originator_version"] = version
            from_version = state.pop("class_version", 1)
            while from_version < class_version:
                getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
                from_version += 1
            event = new(cls)
            object.__setattr__(event, "__dict__", state)
            if MARK in state or "organisation_id" in state:
                unsealed(event, topic)
            yield event

    def _known(self, topic: str) -> tuple[type[Any], int]:
        """The class of a topic and its version, looked up once."""
        cls = resolve_topic(topic)
        known = self._classes[topic] = (cls, getattr(cls, "class_version", 1))
        return known

    def _library_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        """The library's `Mapper.to_domain_event`, with each topic's class looked up once."""
        topic = stored_event.topic
        cls, class_version = self._classes.get(topic) or self._known(topic)
        stored_state = stored_event.state
        try:
            if self.cipher:
                stored_state = self.cipher.decrypt(stored_state)
            if self.compressor:
                stored_state = self.compressor.decompress(stored_state)
            event_state: dict[str, Any] = self.transcoder.decode(stored_state)
        except Exception as e:
            raise _undecodable(
                topic, stored_event.originator_id, stored_event.originator_version, e
            ) from e
        originator_id = stored_event.originator_id
        convert = find_id_convertor(cast(Hashable, cls), cast(Hashable, type(originator_id)))
        event_state["originator_id"] = convert(originator_id)
        event_state["originator_version"] = stored_event.originator_version
        from_version = event_state.pop("class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(event_state)
            from_version += 1
        domain_event: DomainEventProtocol[UUID] = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", event_state)
        return domain_event

    def _open(self, envelope: dict[str, Any]) -> Any:
        assert self.keyring is not None
        org, generation = str(envelope["o"]), int(envelope["g"])
        key = self.keyring.key(org, generation)
        if key is None:
            return ERASED
        raw = base64.b64decode(envelope[SEALED])
        return exact_json.loads(key.decrypt(raw[:12], raw[12:], _aad(org, generation)))


def _undecodable(
    topic: str, originator_id: UUID | str, version: int, e: Exception
) -> MapperDeserialisationError:
    """The library's error for a stored event that cannot be decrypted or decoded."""
    return MapperDeserialisationError(
        f"Failed to deserialise state of stored event with "
        f"topic '{topic}', "
        f"originator_id '{originator_id}' and "
        f"originator_version {version}: {e}"
    )


def _in_pieces(
    seal: Callable[[Sensitivity, Any], Any], quotes: dict[int, Any]
) -> Callable[[str], Any]:
    """What stores a text: one that quotes personal data as its pieces, the quoted ones
    sealed and at odd places (an empty piece between two quotes that touch), else as it is."""

    def stored(text: str) -> Any:
        if not isinstance(text, QuotingText):
            return text
        pieces: list[Any] = []
        for piece, quoted in text.pieces():
            if len(pieces) % 2 != quoted:
                pieces.append("")
            pieces.append(seal(Sensitivity.PERSONAL, piece) if quoted else piece)
        quotes[id(pieces)] = pieces
        return pieces

    return stored


def _paths_to(value: Any, made: dict[int, Any], path: list[Any]) -> Iterator[list[Any]]:
    """The paths to the values in `made` (envelopes, texts in pieces): only those are opened
    on reading, so a dict that merely looks like an envelope (a hostile config) is left as it
    was."""
    if id(value) in made and made[id(value)] is value:
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in BOOKKEEPING:
                yield from _paths_to(item, made, [*path, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths_to(item, made, [*path, index])
    elif is_dataclass(value) and not isinstance(value, type):
        for part in fields(value):
            yield from _paths_to(getattr(value, part.name), made, [*path, part.name])


def _within_objects(
    value: Any, seal: Callable[[Sensitivity, Any], Any], in_pieces: Callable[[str], Any]
) -> Any:
    """`value` (a copy `transform` made) with the documents and texts inside dataclass
    objects (a sub-step's result and reason inside a job snapshot) sealed too: containers are
    updated in place, objects are copied, never changed, and envelopes already made are left
    as they are."""
    if isinstance(value, dict):
        for key, item in value.items():
            value[key] = _within_objects(item, seal, in_pieces)
    elif isinstance(value, list):
        value[:] = [_within_objects(item, seal, in_pieces) for item in value]
    elif is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for part in fields(value):
            item = getattr(value, part.name)
            if isinstance(item, dict | list):
                changes[part.name] = transform(item, seal, on_text=in_pieces)
            elif isinstance(item, QuotingText):
                changes[part.name] = in_pieces(item)
        return replace(value, **changes) if changes else value
    return value


def _step_into(holder: Any, step: Any) -> Any:
    return holder[step] if isinstance(holder, dict | list) else getattr(holder, step)


def _put(holder: Any, step: Any, value: Any) -> None:
    if isinstance(holder, dict | list):
        holder[step] = value
    else:
        setattr(holder, step, value)
