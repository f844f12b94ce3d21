"""The recordings a runner may apply unread: only an unbroken run right after its position."""

from __future__ import annotations

import uuid

from eventsourcing.persistence import Notification, Recording
from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.recent_recordings import RecentRecordings

ERASURE = "erasure"


def recording(notification_id: int, topic: str = "event") -> Recording[uuid.UUID]:
    notification = Notification(uuid.uuid4(), 1, topic, b"", id=notification_id)
    return Recording(object(), notification)  # type: ignore[arg-type]


def expected_run(held: dict[int, str], position: int, limit: int, stop: int | None) -> list[int]:
    run, wanted = [], position + 1
    while wanted in held and held[wanted] != ERASURE and len(run) < limit:
        if stop is not None and wanted > stop:
            break
        run.append(wanted)
        wanted += 1
    return run


# Each notification id is committed once, by one save; saves reach the holder in any order.
committed = st.lists(
    st.tuples(st.integers(1, 60), st.sampled_from(["event", "event", "event", ERASURE])),
    max_size=50,
    unique_by=lambda t: t[0],
)


@settings(max_examples=400, deadline=None)
@given(
    committed=committed,
    size=st.integers(1, 6),
    position=st.integers(0, 60),
    limit=st.integers(1, 20),
    stop=st.none() | st.integers(0, 70),
    kept=st.integers(1, 80),
)
def test_a_runner_is_handed_only_the_unbroken_run_after_its_position(
    committed: list[tuple[int, str]],
    size: int,
    position: int,
    limit: int,
    stop: int | None,
    kept: int,
) -> None:
    """Saves committed in any order (threads finish theirs in any order), gaps, erasures,
    a bound on what is kept: what is handed is exactly the first ids reading the log would
    return, or nothing."""
    recent = RecentRecordings(kept=kept, never={ERASURE})
    held: dict[int, str] = {}
    for at in range(0, len(committed), size):
        save = committed[at : at + size]
        recent.add([recording(i, topic) for i, topic in save])
        held.update(save)
        while len(held) > kept:
            del held[next(iter(held))]
    handed = recent.after(position, limit, stop)
    assert [r.notification.id for r in handed] == expected_run(held, position, limit, stop)
    assert len(recent) <= kept


def test_what_a_runner_has_applied_is_let_go() -> None:
    recent = RecentRecordings(kept=10)
    recent.add([recording(i) for i in range(1, 6)])
    assert [r.notification.id for r in recent.after(3, 10)] == [4, 5]
    assert len(recent) == 2
    assert recent.after(5, 10) == [] and len(recent) == 0


def test_nothing_is_held_until_a_runner_takes_from_it() -> None:
    recent = RecentRecordings()
    recent.add([recording(1)])
    assert len(recent) == 0 and recent.after(0, 10) == []
    recent.keep()
    recent.add([recording(2)])
    assert [r.notification.id for r in recent.after(1, 10)] == [2]


def test_nothing_is_handed_after_a_gap_or_an_erasure() -> None:
    recent = RecentRecordings(kept=10, never={ERASURE})
    recent.add([recording(1), recording(2), recording(4)])
    assert [r.notification.id for r in recent.after(0, 10)] == [1, 2]
    assert recent.after(2, 10) == []  # 3 is another process's, or a rolled-back write's
    recent.add([recording(5, ERASURE), recording(6)])
    assert [r.notification.id for r in recent.after(3, 10)] == [4]
    assert recent.after(4, 10) == []
