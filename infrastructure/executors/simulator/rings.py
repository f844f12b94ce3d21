"""A ring of byte records packed one after another in one buffer allocated once: when full, new
records overwrite the oldest instead of freeing and allocating an object per record."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator

# A record up to this many shares long goes in the buffer; a longer one is kept whole beside it.
LONGEST_SHARES = 4


class ByteRing:
    """The latest `capacity` byte records, oldest first, in a circular buffer of `capacity` shares
    of `share` bytes and room for two of the longest records: it holds exactly the latest
    `capacity` whenever they average at most a share (else as many of the latest as fit).
    `forget(slot)` is told of each record about to be overwritten."""

    def __init__(
        self, capacity: int, share: int, forget: Callable[[int], object] | None = None
    ) -> None:
        self.capacity, self.longest, self._forget = capacity, LONGEST_SHARES * share, forget
        self._buffer = memoryview(bytearray(capacity * share + 2 * self.longest))
        self._starts = array("q", bytes(8 * capacity))
        self._lengths = array("i", bytes(4 * capacity))
        self._outsized: dict[int, bytes] = {}
        self.appended = self.oldest = self._end = 0

    def __len__(self) -> int:
        return self.appended - self.oldest

    def append(self, record: bytes) -> int:
        """Store `record` after the newest, overwriting the oldest as need be; its slot."""
        if len(self) == self.capacity:
            self._evict()
        outsized = len(record) > self.longest
        start = self._room(1 if outsized else max(len(record), 1))
        slot = self.appended % self.capacity
        if outsized:
            self._outsized[slot] = record
        else:
            self._buffer[start : start + len(record)] = record
        self._starts[slot], self._lengths[slot] = start, -1 if outsized else len(record)
        self.appended += 1
        return slot

    def record(self, slot: int) -> bytes:
        """The record in `slot`."""
        length = self._lengths[slot]
        return self._outsized[slot] if length < 0 else self.head(slot, length)

    def head(self, slot: int, size: int) -> bytes:
        """The first `size` bytes of the record in `slot`."""
        length = self._lengths[slot]
        if length < 0:
            return self._outsized[slot][:size]
        start = self._starts[slot]
        return self._buffer[start : start + min(size, length)].tobytes()

    def slots(self) -> Iterator[int]:
        """The slots of the records held, oldest first."""
        return (n % self.capacity for n in range(self.oldest, self.appended))

    def clear(self) -> None:
        """Forget every record (the buffer stays allocated)."""
        self.appended = self.oldest = self._end = 0
        self._outsized.clear()

    def _room(self, size: int) -> int:
        # Records lie in order of age from the oldest's start, wrapping once past the end.
        if self._end + size > len(self._buffer):
            while len(self) and self._oldest_start() >= self._end:
                self._evict()
            self._end = 0
        while len(self) and self._end <= self._oldest_start() < self._end + size:
            self._evict()
        start, self._end = self._end, self._end + size
        return start

    def _oldest_start(self) -> int:
        return self._starts[self.oldest % self.capacity]

    def _evict(self) -> None:
        slot = self.oldest % self.capacity
        if self._forget is not None:
            self._forget(slot)
        self._outsized.pop(slot, None)
        self.oldest += 1
