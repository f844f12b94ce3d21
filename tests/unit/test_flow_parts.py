"""The parts of flow control on a fake clock: the adaptive limit, the bucket, fair shares."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.flow.fair import Ask, Shares, allocate
from infrastructure.flow.limiter import AdaptiveLimit, TokenBucket
from infrastructure.settings import MOST_AT_ONCE, parse_limits
from tests.unit.flow_kit import FakeClock


class TestAdaptiveLimit:
    def test_slow_start_grows_by_one_per_success_until_an_overload(self) -> None:
        limit = AdaptiveLimit(FakeClock().monotonic, initial=4, maximum=64)
        for _ in range(6):
            limit.succeeded("a", 0.05, in_flight=limit.limit)
        assert limit.limit == 10

    def test_an_overload_cuts_to_the_calls_in_flight_then_growth_is_slow(self) -> None:
        clock = FakeClock()
        limit = AdaptiveLimit(clock.monotonic, initial=9, maximum=64, backoff=0.9, patience=4)
        limit.overloaded(in_flight=9, seconds=0.001, reason="HTTP 429")
        assert limit.limit == 8
        grown = 0
        while limit.limit == 8:
            limit.succeeded("a", 0.05, in_flight=8)
            grown += 1
        assert grown >= 25

    def test_a_burst_of_429s_within_one_round_trip_cuts_once(self) -> None:
        clock = FakeClock()
        limit = AdaptiveLimit(clock.monotonic, initial=20, maximum=64, backoff=0.5)
        for _ in range(5):
            limit.overloaded(in_flight=20, seconds=0.05, reason="HTTP 429")
        assert limit.limit == 10
        clock.advance(0.06)
        limit.overloaded(in_flight=10, seconds=0.05, reason="HTTP 429")
        assert limit.limit == 5

    def test_calls_in_flight_together_that_fail_far_apart_cut_once(self) -> None:
        """One job's sub-steps started together, answering 503 at 2, 5 and 10 ms: one cut,
        where a cut held for the first call's own 2 ms let the others cut twice more."""
        clock = FakeClock()
        limit = AdaptiveLimit(clock.monotonic, initial=16, maximum=64, backoff=0.9)
        started = clock.monotonic()
        for sub_step, took in (("menuImport", 0.002), ("optionSets", 0.005), ("itemTags", 0.010)):
            clock.advance(started + took - clock.monotonic())
            limit.overloaded(in_flight=8, seconds=took, reason="HTTP 503", call=f"job:{sub_step}")
        assert limit.limit == 7  # 8 in flight x 0.9, once (three cuts leave 5)

    @settings(max_examples=200, deadline=None)
    @given(
        # seconds in 256ths, which sum exactly: the clock's own rounding is not the question
        took=st.lists(st.integers(0, 30 * 256).map(lambda n: n / 256), min_size=1, max_size=40),
        in_flight=st.integers(1, 64),
    )
    def test_overloads_of_calls_started_together_cut_once(
        self, took: list[float], in_flight: int
    ) -> None:
        clock = FakeClock()
        started = clock.monotonic()
        limit = AdaptiveLimit(clock.monotonic, initial=64, maximum=64, backoff=0.9)
        for index, seconds in enumerate(sorted(took)):
            clock.advance(started + seconds - clock.monotonic())
            limit.overloaded(in_flight, seconds, "HTTP 503", call=f"job-{index}:menuImport")
        assert limit.limit == max(int(min(64, in_flight) * 0.9), 1)

    @settings(max_examples=100, deadline=None)
    @given(
        calls=st.lists(st.sampled_from(["job-a:menuImport", "job-b:menuImport", "job-a:x"])),
        gaps=st.lists(st.floats(0.0, 2.0), min_size=50, max_size=50),
    )
    def test_only_an_overload_of_another_call_cuts_again(
        self, calls: list[str], gaps: list[float]
    ) -> None:
        clock = FakeClock()
        limit = AdaptiveLimit(clock.monotonic, initial=64, maximum=64, backoff=0.9)
        cuts, last = 0, None
        for call, gap in zip(calls, gaps, strict=False):
            clock.advance(gap)
            before = limit._limit
            limit.overloaded(in_flight=64, seconds=0.05, reason="HTTP 503", call=call)
            if limit._limit < before:
                assert call != last, "a repeated overload of one call cut the limit again"
                cuts, last = cuts + 1, call
        assert cuts <= sum(1 for a, b in zip([None, *calls], calls, strict=False) if a != b)

    def test_a_failing_call_retried_far_apart_cuts_once(self) -> None:
        clock = FakeClock()
        limit = AdaptiveLimit(clock.monotonic, initial=20, maximum=64, backoff=0.5)
        for _ in range(5):
            clock.advance(10)
            limit.overloaded(in_flight=20, seconds=0.05, reason="HTTP 503", call="job-a:menu")
        assert limit.limit == 10
        limit.overloaded(in_flight=10, seconds=0.05, reason="HTTP 503", call="job-b:menu")
        assert limit.limit == 5

    def test_rising_latency_holds_the_limit(self) -> None:
        limit = AdaptiveLimit(FakeClock().monotonic, initial=4, maximum=64)
        limit.succeeded("a", 0.05, in_flight=4)
        assert limit.limit == 5
        for _ in range(10):
            limit.succeeded("a", 0.5, in_flight=5)
        assert limit.limit == 5

    def test_an_unused_limit_does_not_grow(self) -> None:
        limit = AdaptiveLimit(FakeClock().monotonic, initial=10, maximum=64)
        for _ in range(20):
            limit.succeeded("a", 0.05, in_flight=2)
        assert limit.limit == 10

    @given(st.lists(st.tuples(st.booleans(), st.integers(0, 100), st.floats(0, 5)), max_size=200))
    def test_the_limit_stays_within_its_bounds(
        self, samples: list[tuple[bool, int, float]]
    ) -> None:
        clock = FakeClock()
        limit = AdaptiveLimit(clock.monotonic, initial=4, minimum=2, maximum=16)
        for ok, in_flight, seconds in samples:
            clock.advance(seconds)
            if ok:
                limit.succeeded("a", seconds, in_flight)
            else:
                limit.overloaded(in_flight, seconds, "HTTP 429")
            assert 2 <= limit.limit <= 16


class TestTokenBucket:
    def test_holds_one_seconds_worth_and_refills_at_the_rate(self) -> None:
        clock = FakeClock()
        bucket = TokenBucket(10, clock.monotonic)
        assert bucket.available() == 10
        bucket.take(10)
        assert (bucket.available(), bucket.seconds_to_next()) == (0, pytest.approx(0.1))
        clock.advance(0.25)
        assert bucket.available() == 2
        clock.advance(100)
        assert bucket.available() == 10

    def test_a_rate_below_one_still_lets_one_call_through(self) -> None:
        clock = FakeClock()
        bucket = TokenBucket(0.5, clock.monotonic)
        bucket.take(1)
        assert bucket.seconds_to_next() == pytest.approx(2.0)

    def test_taking_more_than_there_is_refused(self) -> None:
        bucket = TokenBucket(2, FakeClock().monotonic)
        with pytest.raises(ValueError):
            bucket.take(3)


class TestFairShares:
    def test_the_organisation_holding_fewest_goes_first(self) -> None:
        shares = Shares(free=1, held_by_org={"A": 3})
        assert allocate(shares, {("A", "x"): 5, ("B", "x"): 1}, budget=5) == [("B", "x")]

    def test_free_slots_alternate_between_waiting_organisations(self) -> None:
        grants = allocate(Shares(free=4), {("A", "x"): 9, ("B", "y"): 9}, budget=9)
        assert sorted(grants) == [("A", "x"), ("A", "x"), ("B", "y"), ("B", "y")]

    def test_a_slot_due_to_another_workers_organisation_is_left_for_it(self) -> None:
        shares = Shares(free=1, held_by_org={"A": 2}, others_waiting={("B", "x"): 1})
        assert allocate(shares, {("A", "x"): 4}, budget=4) == []

    def test_sub_step_caps_and_pauses_are_respected(self) -> None:
        shares = Shares(
            free=10, held_by_step={"menuImport": 1}, step_caps={"menuImport": 2}, paused={"p"}
        )
        mine = {("A", "menuImport"): 5, ("A", "p"): 5}
        assert allocate(shares, mine, budget=10) == [("A", "menuImport")]

    @given(
        st.integers(0, 20),
        st.integers(0, 20),
        st.dictionaries(st.sampled_from("ABCD"), st.integers(0, 10)),
        st.dictionaries(
            st.tuples(st.sampled_from("ABCD"), st.sampled_from("xy")), st.integers(0, 8)
        ),
    )
    def test_never_more_than_free_budget_or_asked(
        self, free: int, budget: int, held: dict[str, int], mine: dict[tuple[str, str], int]
    ) -> None:
        grants = allocate(Shares(free=free, held_by_org=held), mine, budget)
        assert len(grants) <= min(free, budget)
        assert all(grants.count(a) <= n for a, n in mine.items())
        assert len(grants) == min(free, budget, sum(mine.values()))

    @given(
        st.dictionaries(st.sampled_from("ABCDE"), st.integers(1, 30), min_size=2),
        st.integers(1, 40),
    )
    def test_shares_are_max_min_fair(self, waiting: dict[str, int], free: int) -> None:
        grants = allocate(Shares(free=free), {(o, "x"): n for o, n in waiting.items()}, free)
        got = {o: sum(1 for g in grants if g[0] == o) for o in waiting}
        for org, n in got.items():
            if n < waiting[org]:
                assert all(m <= n + 1 for m in got.values())


def allocate_by_definition(shares: Shares, mine: Mapping[Ask, int], budget: int) -> list[Ask]:
    """Max-min fair shares as defined, one slot at a time: the waiting asks are found afresh
    from what is left before every slot. `allocate` keeps them as it goes; both must agree."""
    held_org, held_step = Counter(shares.held_by_org), Counter(shares.held_by_step)
    served = dict(shares.last_served)
    left_mine, left_others = Counter(mine), Counter(shares.others_waiting)
    grants: list[Ask] = []
    tick = max(served.values(), default=0.0)
    for _ in range(max(0, shares.free)):
        if len(grants) >= budget:
            break
        candidates = [
            ask
            for ask in (+left_mine | +left_others)
            if ask[1] not in shares.paused
            and held_step[ask[1]] < shares.step_caps.get(ask[1], 1 << 30)
        ]
        if not candidates or not any(left_mine[a] > 0 for a in candidates):
            break
        org, step = min(
            candidates,
            key=lambda a: (held_org[a[0]], served.get(a[0], float("-inf")), held_step[a[1]], a),
        )
        held_org[org] += 1
        held_step[step] += 1
        tick += 1.0
        served[org] = tick
        if left_mine[(org, step)] > 0:
            left_mine[(org, step)] -= 1
            grants.append((org, step))
        else:
            left_others[(org, step)] -= 1
    return grants


ORGS, STEPS = st.sampled_from("ABCD"), st.sampled_from("wxyz")
ASKS = st.dictionaries(st.tuples(ORGS, STEPS), st.integers(-2, 8))


class TestFairSharesAsDefined:
    @settings(max_examples=400, deadline=None)
    @given(
        free=st.integers(-2, 30),
        budget=st.integers(-1, 30),
        mine=ASKS,
        others=ASKS,
        held_by_org=st.dictionaries(ORGS, st.integers(0, 10)),
        held_by_step=st.dictionaries(STEPS, st.integers(0, 10)),
        caps=st.dictionaries(STEPS, st.integers(0, 6)),
        served=st.dictionaries(ORGS, st.floats(0, 100, allow_nan=False)),
        paused=st.sets(STEPS),
    )
    def test_the_same_grants_in_the_same_order(
        self,
        free: int,
        budget: int,
        mine: dict[Ask, int],
        others: dict[Ask, int],
        held_by_org: dict[str, int],
        held_by_step: dict[str, int],
        caps: dict[str, int],
        served: dict[str, float],
        paused: set[str],
    ) -> None:
        shares = Shares(free, held_by_org, held_by_step, caps, others, served, paused)
        assert allocate(shares, mine, budget) == allocate_by_definition(shares, mine, budget)


class TestLimitsSetting:
    def test_parses_the_documented_form(self) -> None:
        assert parse_limits("menuImport=2, uploadImages=3") == {"menuImport": 2, "uploadImages": 3}

    @pytest.mark.parametrize(
        ("text", "says"),
        [
            ("menuImport", "subStep=N"),
            ("menuImprt=2", "unknown sub-step"),
            ("menuImport=0", "whole number"),
            ("menuImport=-1", "whole number"),
            ("menuImport=1.5", "whole number"),
            ("menuImport=1000001", "from 1 to 1,000,000"),
            ("menuImport=99999999999999999999999999", "from 1 to 1,000,000"),
            ("menuImport=" + "9" * 5000, "from 1 to 1,000,000"),
            ("menuImport=²", "whole number"),
            ("menuImport=٣", "whole number"),
            ("menuImport=2,menuImport=3", "twice"),
            ("=2", "subStep=N"),
        ],
    )
    def test_bad_values_say_what_is_wrong(self, text: str, says: str) -> None:
        with pytest.raises(ValueError, match=says):
            parse_limits(text)

    @given(st.text(st.characters(blacklist_characters=","), max_size=30))
    def test_any_value_is_a_limit_in_bounds_or_refused_saying_so(self, value: str) -> None:
        try:
            limits = parse_limits(f"menuImport={value}")
        except ValueError as exc:
            assert "menuImport" in str(exc)
            return
        assert set(limits) <= {"menuImport"}
        assert all(1 <= n <= MOST_AT_ONCE for n in limits.values())

    @pytest.mark.parametrize("value", ["1", "1000000", " 7 "])
    def test_the_bounds_are_limits(self, value: str) -> None:
        assert parse_limits(f"menuImport={value}") == {"menuImport": int(value)}
