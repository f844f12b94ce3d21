"""The simulator's bounded windows of finished calls and of answers by key, each packed in one
byte ring allocated once, so that their memory stays constant however long the simulator
serves."""

from __future__ import annotations

import hashlib
import marshal
from array import array
from collections.abc import Iterator
from itertools import chain
from operator import attrgetter

from infrastructure.executors.simulator.calls import CallRecord, parse_key
from infrastructure.executors.simulator.rings import ByteRing

# A packed call (key, endpoint, organisation, times, outcome) takes about 170 bytes, 230 with a
# traceparent; an answer's key digest and JSON text 100 to 340, about 160 on average over the
# twelve sub-steps. The shares leave room above those averages.
CALL_SHARE = 224
ANSWER_SHARE = 192
_DIGEST = 16


class AnswerWindow:
    """Answers by idempotency key as the JSON text first sent, the latest `capacity` keys kept:
    each a key digest and the text in a byte ring, found through an open-addressing table of
    ring slots (linear probing, deletion by backward shift) that is never resized."""

    def __init__(self, capacity: int) -> None:
        self._ring = ByteRing(capacity, ANSWER_SHARE, forget=self._forget)
        size = 1 << (2 * capacity - 1).bit_length()
        self._table = array("i", bytes(4 * size))
        self._mask = size - 1

    def __len__(self) -> int:
        return len(self._ring)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._position(_digest(key)) is not None

    def get(self, key: str) -> str | None:
        """The answer first sent for `key`, if still kept."""
        position = self._position(_digest(key))
        if position is None:
            return None
        record = self._ring.record(self._table[position] - 1)
        return record[_DIGEST:].decode("utf-8", "surrogatepass")

    def remember(self, key: str, answer: str) -> None:
        """Keep `answer` for `key`, forgetting the oldest key if full; a key kept stays as is."""
        digest = _digest(key)
        if self._position(digest) is not None:
            return
        slot = self._ring.append(digest + answer.encode("utf-8", "surrogatepass"))
        position = self._home(digest)
        while self._table[position]:
            position = (position + 1) & self._mask
        self._table[position] = slot + 1

    def clear(self) -> None:
        """Forget every answer (the buffers stay allocated)."""
        self._ring.clear()
        self._table[:] = array("i", bytes(4 * len(self._table)))

    def _home(self, digest: bytes) -> int:
        return int.from_bytes(digest[:8], "little") & self._mask

    def _position(self, digest: bytes) -> int | None:
        position = self._home(digest)
        while entry := self._table[position]:
            if self._ring.head(entry - 1, _DIGEST) == digest:
                return position
            position = (position + 1) & self._mask
        return None

    def _forget(self, slot: int) -> None:
        hole = self._position(self._ring.head(slot, _DIGEST))
        assert hole is not None and self._table[hole] == slot + 1
        table, mask, probe = self._table, self._mask, hole
        while entry := table[probe := (probe + 1) & mask]:
            home = self._home(self._ring.head(entry - 1, _DIGEST))
            if (probe - home) & mask >= (probe - hole) & mask:
                table[hole], hole = entry, probe
        table[hole] = 0


def _digest(key: str) -> bytes:
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=_DIGEST).digest()


class CallWindow:
    """The calls received: those in flight as records, the latest `capacity` finished ones packed
    in a ring; iterated as records in order of arrival."""

    def __init__(self, capacity: int) -> None:
        self._finished = ByteRing(capacity, CALL_SHARE)
        self._in_flight: dict[int, CallRecord] = {}

    def begin(self, record: CallRecord) -> None:
        """Hold `record` as a call in flight."""
        self._in_flight[id(record)] = record

    def finish(self, record: CallRecord) -> None:
        """Pack `record`, now answered, into the window (unless forgotten by `clear` meanwhile)."""
        if self._in_flight.pop(id(record), None) is not None:
            self._finished.append(_packed(record))

    def __len__(self) -> int:
        return len(self._finished) + len(self._in_flight)

    def __iter__(self) -> Iterator[CallRecord]:
        finished = (_unpacked(self._finished.record(s)) for s in self._finished.slots())
        return iter(sorted(chain(finished, self._in_flight.values()), key=attrgetter("started")))

    def __getitem__(self, index: int) -> CallRecord:
        return list(self)[index]

    def clear(self) -> None:
        """Forget every call received, in flight or finished."""
        self._finished.clear()
        self._in_flight.clear()


def _packed(call: CallRecord) -> bytes:
    # The job, sub-step and generation are left out when the key says them, as it usually does.
    job, sub_step, generation = parse_key(call.key) if call.key else (None, None, None)
    derived = (
        (call.job == job) | (call.sub_step == sub_step) << 1 | (call.generation == generation) << 2
    )
    return marshal.dumps(
        (
            derived,
            call.key,
            call.endpoint,
            None if derived & 1 else call.job,
            None if derived & 2 else call.sub_step,
            None if derived & 4 else call.generation,
            call.started,
            call.organisation,
            call.finished,
            call.status,
            call.executed,
            call.replay,
            call.fault,
            call.traceparent,
        )
    )


def _unpacked(packed: bytes) -> CallRecord:
    derived, key, endpoint, *fields = marshal.loads(packed)
    parsed = parse_key(key) if key else (None, None, None)
    for n, part in enumerate(parsed):
        if derived >> n & 1:
            fields[n] = part
    return CallRecord(key, endpoint, *fields)
