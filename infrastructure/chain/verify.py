"""Walks the stored log against its hash chain and says what was edited, moved or removed."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import groupby
from uuid import UUID

from infrastructure.chain.hashing import ChainedRecorder, ChainRow, canonical_id, event_hash
from infrastructure.event_store import check_versions


@dataclass(frozen=True)
class Problem:
    """One break in an aggregate's chain."""

    originator_id: str
    version: int
    kind: str
    message: str


@dataclass
class AggregateCheck:
    """What the walk found for one aggregate."""

    originator_id: str
    events: int = 0
    unchained: int = 0
    chained_from: int | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.problems:
            return "failed"
        if self.chained_from is None:
            return "unchained"
        return "partial" if self.unchained else "ok"

    def fail(self, version: int, kind: str, message: str) -> None:
        self.problems.append(Problem(self.originator_id, version, kind, message))


@dataclass
class ChainReport:
    """The outcome of verifying the whole log."""

    aggregates: int = 0
    events: int = 0
    chain_start: int | None = None
    chained_events: int = 0
    unchained: list[AggregateCheck] = field(default_factory=list)
    partial: list[AggregateCheck] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, check: AggregateCheck) -> None:
        self.aggregates += 1
        self.events += check.events
        self.chained_events += check.events - check.unchained
        self.problems += check.problems
        if check.status == "unchained":
            self.unchained.append(check)
        elif check.status == "partial":
            self.partial.append(check)


def check_aggregate(
    originator_id: str, rows: Iterable[ChainRow], key: bytes | None = None, start: int | None = None
) -> AggregateCheck:
    """Walk one aggregate's positions in version order against its chain, which every event
    stored after position `start` must be on (None: no start recorded)."""
    check = AggregateCheck(originator_id)
    expected, prior = 1, None
    for row in rows:
        if row.version > expected:
            missing = (
                f"{expected}" if row.version == expected + 1 else f"{expected}-{row.version - 1}"
            )
            check.fail(expected, "missing", f"version {missing} missing: no event, no chain entry")
        expected = row.version + 1
        if row.hash is None:
            _unchained(check, row, start)
            prior = None
            continue
        _chained(check, row, prior, key)
        prior = row.hash
    return check


def _unchained(check: AggregateCheck, row: ChainRow, start: int | None) -> None:
    """An event without a chain entry: history from before the chain, or tampering."""
    check.events += 1
    check.unchained += 1
    after_start = start is not None and row.position is not None and row.position > start
    if check.chained_from is not None or after_start:
        check.fail(row.version, "unlinked", f"version {row.version} has no chain entry")
    _check_type(check, row)


def _chained(check: AggregateCheck, row: ChainRow, prior: bytes | None, key: bytes | None) -> None:
    """An event with a chain entry: linked to its predecessor, and matching its hash."""
    if check.chained_from is None:
        check.chained_from = row.version
        if row.previous_hash is not None:
            check.fail(row.version, "cut", f"chain entry before version {row.version} removed")
    elif row.previous_hash != prior:
        check.fail(
            row.version,
            "relinked",
            f"version {row.version} does not follow version {row.version - 1}: "
            "events reordered or removed",
        )
    if row.state is None or row.topic is None:
        check.fail(
            row.version, "deleted", f"version {row.version} deleted (its chain entry remains)"
        )
        return
    check.events += 1
    _check_type(check, row)
    computed = event_hash(
        row.previous_hash, row.originator_id, row.version, row.topic, row.state, key
    )
    if computed != row.hash:
        check.fail(
            row.version,
            "edited",
            f"version {row.version} does not match its hash: edited or swapped",
        )


def _check_type(check: AggregateCheck, row: ChainRow) -> None:
    """A state cell stored as other than bytes was written by hand: no recorder stores one."""
    if row.state_type not in (None, "blob"):
        check.fail(
            row.version,
            "retyped",
            f"version {row.version}'s state is stored as {row.state_type}, not bytes",
        )


def _merged(
    rows: Iterable[ChainRow], orphans: list[ChainRow]
) -> Iterator[tuple[str, list[ChainRow]]]:
    extra: dict[str, list[ChainRow]] = defaultdict(list)
    for orphan in orphans:
        extra[canonical_id(orphan.originator_id)].append(orphan)
    for oid, group in groupby(rows, key=lambda r: canonical_id(r.originator_id)):
        merged = sorted([*group, *extra.pop(oid, [])], key=lambda r: r.version)
        yield oid, merged
    for oid, left in extra.items():
        yield oid, sorted(left, key=lambda r: r.version)


def verify_chain(
    rows: Iterable[ChainRow],
    orphans: list[ChainRow],
    progress: Callable[[int], None] | None = None,
    key: bytes | None = None,
    start: int | None = None,
) -> ChainReport:
    """Check every aggregate of the log; `progress` hears how many events each step covered;
    every event after position `start` must be chained."""
    report = ChainReport(chain_start=start)
    for oid, group in _merged(rows, orphans):
        check = check_aggregate(oid, group, key, start)
        report.add(check)
        if progress is not None:
            progress(len(group))
    return report


class ChainBroken(Exception):
    """One aggregate's stored events do not match its hash chain: edited, swapped, renumbered
    or deleted by hand, as `regflow verify-log` would say."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(problems)
        self.problems = problems

    def said_of(self, aggregate: str) -> str:
        first = self.problems[0].message
        more = len(self.problems) - 1
        also = f" (and {more} more break{'s' if more > 1 else ''})" if more else ""
        return f"the stored events of {aggregate} do not match the log's hash chain: {first}{also}"


def check_stored_chain(recorder: object, originator_id: UUID | str) -> None:
    """Raise VersionsSkipped when the aggregate's stored versions do not go by one from 1, and
    ChainBroken when its stored events break its chain; nothing for a recorder that keeps no
    chain."""
    if not isinstance(recorder, ChainedRecorder):
        return
    rows = recorder.aggregate_chain_rows(originator_id)
    # Said as a read of the events says it, first: an event deleted or renumbered.
    check_versions(originator_id, (r.version for r in rows if r.state is not None), 1, False)
    check = check_aggregate(
        canonical_id(originator_id), rows, recorder.chain_key, recorder.chain_start()
    )
    if check.problems:
        raise ChainBroken(check.problems)
