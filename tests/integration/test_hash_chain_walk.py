"""The chain itself, without a database: how entries link, and what a walk reports."""

from __future__ import annotations

from dataclasses import replace
from uuid import uuid4

from eventsourcing.persistence import StoredEvent
from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.chain.hashing import (
    ChainRow,
    RecentHashes,
    canonical_id,
    event_hash,
    links_for,
    predecessors,
)
from infrastructure.chain.verify import check_aggregate, verify_chain

TOPIC = "regflow:RegistrationJob.SubStepStarted"
REST = "regflow:RegistrationJob.JobCompleted"


def stored(aggregate: str, versions: range) -> list[StoredEvent]:
    return [StoredEvent(aggregate, v, TOPIC, f"state {v}".encode()) for v in versions]


def rows_of(events: list[StoredEvent]) -> list[ChainRow]:
    links = links_for(events, {})
    return [
        ChainRow(e.originator_id, e.originator_version, e.topic, e.state, k.hash, k.previous_hash)
        for e, k in zip(events, links, strict=True)
    ]


class TestLinks:
    def test_each_entry_covers_its_predecessor(self) -> None:
        events = stored("a", range(1, 4))
        links = links_for(events, {})
        assert links[0].previous_hash is None
        assert [k.previous_hash for k in links[1:]] == [k.hash for k in links[:-1]]

    def test_batches_continue_from_the_stored_hash(self) -> None:
        whole = links_for(stored("a", range(1, 5)), {})
        later = stored("a", range(3, 5))
        assert predecessors(later) == [("a", 2)]
        assert links_for(later, {("a", 2): whole[1].hash}) == whole[2:]

    def test_interleaved_aggregates_chain_separately(self) -> None:
        events = [*stored("a", range(1, 3)), *stored("b", range(1, 3))]
        links = links_for(events, {})
        assert links[2].previous_hash is None and links[3].previous_hash == links[2].hash

    def test_uuid_spellings_hash_alike(self) -> None:
        aggregate = uuid4()
        assert canonical_id(aggregate.hex) == canonical_id(aggregate)
        assert event_hash(None, aggregate.hex, 1, TOPIC, b"x") == event_hash(
            None, aggregate, 1, TOPIC, b"x"
        )


class TestWalk:
    def test_intact_chain_is_ok(self) -> None:
        assert check_aggregate("a", rows_of(stored("a", range(1, 6)))).status == "ok"

    def test_edited_state_is_named(self) -> None:
        rows = rows_of(stored("a", range(1, 4)))
        rows[1] = replace(rows[1], state=b"forged")
        check = check_aggregate("a", rows)
        assert [(p.version, p.kind) for p in check.problems] == [(2, "edited")]

    def test_entry_without_event_is_a_deletion(self) -> None:
        rows = rows_of(stored("a", range(1, 4)))
        rows[2] = replace(rows[2], topic=None, state=None)
        assert [(p.version, p.kind) for p in check_aggregate("a", rows).problems] == [
            (3, "deleted")
        ]

    def test_cut_chain_is_named(self) -> None:
        rows = rows_of(stored("a", range(1, 4)))[1:]
        kinds = [(p.version, p.kind) for p in check_aggregate("a", rows).problems]
        assert kinds == [(1, "missing"), (2, "cut")]

    def test_history_before_the_chain_is_partial_not_failed(self) -> None:
        events = stored("a", range(1, 5))
        rows = [ChainRow("a", e.originator_version, TOPIC, e.state, None, None) for e in events[:2]]
        rows += rows_of(events[2:])
        check = check_aggregate("a", rows)
        assert (check.status, check.chained_from, check.unchained) == ("partial", 3, 2)

    def test_report_merges_orphans_into_their_aggregate(self) -> None:
        rows = rows_of(stored("a", range(1, 4)))
        orphan = replace(rows.pop(1), topic=None, state=None)
        report = verify_chain(rows, [orphan])
        assert [(p.version, p.kind) for p in report.problems] == [(2, "deleted")]
        assert report.aggregates == 1 and report.events == 2


class TestRecentHashes:
    def test_only_the_last_committed_version_is_known(self) -> None:
        recent = RecentHashes()
        links = links_for(stored("a", range(1, 4)), {})
        recent.remember(links)
        assert recent.known([("a", 3), ("a", 2), ("b", 1)]) == {("a", 3): links[2].hash}

    def test_the_oldest_aggregates_are_forgotten_first(self) -> None:
        recent = RecentHashes(capacity=2)
        for name in ("a", "b", "c"):
            recent.remember(links_for(stored(name, range(1, 2)), {}))
        assert set(recent.known([("a", 1), ("b", 1), ("c", 1)])) == {("b", 1), ("c", 1)}

    def test_an_aggregate_that_comes_to_rest_is_forgotten(self) -> None:
        recent = RecentHashes(resting_topics=frozenset({REST}))
        events = [*stored("a", range(1, 3)), StoredEvent("a", 3, REST, b"done")]
        events += stored("b", range(1, 3))
        links = links_for(events, {})
        recent.remember(links, [e.topic for e in events])
        assert len(recent) == 1
        assert recent.known([("a", 3), ("b", 2)]) == {("b", 2): links[-1].hash}

    def test_an_aggregate_at_work_again_is_remembered_again(self) -> None:
        recent = RecentHashes(resting_topics=frozenset({REST}))
        events = [StoredEvent("a", 1, REST, b"done"), *stored("a", range(2, 3))]
        links = links_for(events, {})
        recent.remember(links, [e.topic for e in events])
        assert recent.known([("a", 2)]) == {("a", 2): links[1].hash}

    @settings(max_examples=200, deadline=None)
    @given(
        appends=st.lists(
            st.lists(st.tuples(st.sampled_from("abc"), st.booleans()), min_size=1, max_size=6),
            max_size=12,
        ),
        capacity=st.integers(1, 4),
    )
    def test_what_it_knows_is_always_the_last_stored_hash(
        self, appends: list[list[tuple[str, bool]]], capacity: int
    ) -> None:
        """Appends of random aggregates, some coming to rest: a hash it gives back is the one
        a look-up of the chain table would give; what it forgot, the table answers."""
        recent = RecentHashes(capacity=capacity, resting_topics=frozenset({REST}))
        table: dict[tuple[str, int], bytes] = {}
        versions: dict[str, int] = {}
        for append in appends:
            events = []
            for name, rests in append:
                versions[name] = versions.get(name, 0) + 1
                state = f"{name} {versions[name]}".encode()
                events.append(StoredEvent(name, versions[name], REST if rests else TOPIC, state))
            needed = predecessors(events)
            previous = recent.known(needed)
            assert all(table[position] == digest for position, digest in previous.items())
            previous |= {(o, v): table[(o, v)] for o, v in needed if (o, v) not in previous}
            links = links_for(events, previous)
            table |= {(str(k.originator_id), k.version): k.hash for k in links}
            recent.remember(links, [e.topic for e in events])
            assert len(recent) <= capacity
            last = {e.originator_id: e for e in events}
            resting = [(o, e.originator_version) for o, e in last.items() if e.topic == REST]
            assert recent.known(resting) == {}
