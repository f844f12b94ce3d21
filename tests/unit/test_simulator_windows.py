"""The simulator's windows keep exactly the latest entries, byte for byte, whatever their text."""

from __future__ import annotations

from collections import OrderedDict

from hypothesis import given
from hypothesis import strategies as st

from infrastructure.executors.simulator.calls import CallRecord, parse_key
from infrastructure.executors.simulator.rings import ByteRing
from infrastructure.executors.simulator.windows import AnswerWindow, CallWindow

# Any character a header may decode to, lone surrogates (undecodable bytes) included; short
# strings and ones far longer than a slot.
CHARACTERS = st.one_of(st.characters(exclude_categories=()), st.sampled_from("\udc80\ud800:"))
TEXTS = st.one_of(st.text(CHARACTERS, max_size=40), st.text(CHARACTERS, min_size=300))
OPTIONAL = st.none() | TEXTS
# Answers whose key digest and UTF-8 text fit in a share (192 bytes), where exactly the latest
# `capacity` are kept.
SHORT_TEXTS = st.text(CHARACTERS, max_size=40)
KEYS = st.one_of(TEXTS, st.builds(lambda *p: ":".join(p), TEXTS, TEXTS, TEXTS))
CAPACITIES = st.integers(min_value=1, max_value=8)


@st.composite
def calls(draw: st.DrawFn) -> CallRecord:
    """A finished call of any text, its job, sub-step and generation often the key's own."""
    key = draw(KEYS | st.none())
    parsed = parse_key(key) if key is not None else (None, None, None)
    job, sub_step, generation = (draw(st.just(part) | OPTIONAL) for part in parsed)
    times = st.floats(allow_nan=False)
    call = CallRecord(key, draw(TEXTS), job, sub_step or draw(TEXTS), generation, draw(times))
    call.organisation, call.fault, call.traceparent = draw(OPTIONAL), draw(OPTIONAL), draw(TEXTS)
    call.finished, call.status = draw(times | st.none()), draw(st.integers() | st.none())
    call.executed, call.replay = draw(st.booleans()), draw(st.booleans())
    return call


def record_of(key: str, started: float) -> CallRecord:
    return CallRecord(key, "/api/x", None, "cloudwaitressAccount", None, started)


class TestByteRing:
    @given(CAPACITIES, st.lists(st.binary(max_size=40)))
    def test_keeps_exactly_the_latest_records_of_up_to_a_share(
        self, capacity: int, records: list[bytes]
    ) -> None:
        ring = ByteRing(capacity, share=40)
        for record in records:
            ring.append(record)
        assert [ring.record(s) for s in ring.slots()] == records[-capacity:]

    @given(CAPACITIES, st.lists(st.binary(max_size=200) | st.binary(min_size=150, max_size=400)))
    def test_keeps_the_latest_records_of_any_length_byte_for_byte(
        self, capacity: int, records: list[bytes]
    ) -> None:
        ring = ByteRing(capacity, share=40)
        for number, record in enumerate(records, start=1):
            ring.append(record)
            held = [ring.record(s) for s in ring.slots()]
            assert 1 <= len(held) <= capacity and held == records[number - len(held) : number]

    @given(CAPACITIES, st.lists(st.binary(max_size=80), min_size=1))
    def test_clear_forgets_every_record(self, capacity: int, records: list[bytes]) -> None:
        ring = ByteRing(capacity, share=40)
        for record in records:
            ring.append(record)
        ring.clear()
        assert (len(ring), list(ring.slots())) == (0, [])
        ring.append(b"after")
        assert [ring.record(s) for s in ring.slots()] == [b"after"]


class TestAnswerWindow:
    @given(CAPACITIES, st.lists(st.tuples(KEYS, SHORT_TEXTS)))
    def test_keeps_the_latest_keys_with_the_answer_first_sent(
        self, capacity: int, answers: list[tuple[str, str]]
    ) -> None:
        window, model = AnswerWindow(capacity), OrderedDict[str, str]()
        for key, answer in answers:
            window.remember(key, answer)
            if key not in model:
                model[key] = answer
                if len(model) > capacity:
                    model.popitem(last=False)
        assert len(window) == len(model)
        assert all(window.get(key) == model.get(key) for key, _ in answers)
        assert [k for k, _ in answers if k in window] == [k for k, _ in answers if k in model]

    @given(CAPACITIES, st.lists(st.tuples(KEYS, TEXTS), unique_by=lambda a: a[0]))
    def test_answers_longer_than_a_share_leave_the_latest_that_fit(
        self, capacity: int, answers: list[tuple[str, str]]
    ) -> None:
        """Answers averaging more than a share: fewer are kept, always the latest, each whole."""
        window = AnswerWindow(capacity)
        for key, answer in answers:
            window.remember(key, answer)
        kept = [key for key, _ in answers if key in window]
        assert len(window) == len(kept) <= capacity
        assert kept == [key for key, _ in answers][len(answers) - len(kept) :]
        assert all(window.get(key) == answer for key, answer in answers if key in window)
        assert not answers or answers[-1][0] in window

    @given(KEYS, TEXTS)
    def test_replays_the_answer_byte_for_byte(self, key: str, answer: str) -> None:
        window = AnswerWindow(2)
        window.remember(key, answer)
        window.remember(key, answer + "changed")
        kept = window.get(key)
        assert kept is not None
        assert kept.encode("utf-8", "surrogatepass") == answer.encode("utf-8", "surrogatepass")

    @given(CAPACITIES, st.lists(KEYS, min_size=1, unique=True))
    def test_clear_forgets_every_answer(self, capacity: int, keys: list[str]) -> None:
        window = AnswerWindow(capacity)
        for key in keys:
            window.remember(key, "{}")
        window.clear()
        assert len(window) == 0 and not any(key in window for key in keys)
        window.remember(keys[0], "[]")
        assert (len(window), window.get(keys[0])) == (1, "[]")


class TestCallWindow:
    @given(calls())
    def test_a_finished_call_reads_back_as_recorded(self, call: CallRecord) -> None:
        window = CallWindow(3)
        window.begin(call)
        window.finish(call)
        [read] = window
        assert read.as_dict() == call.as_dict()

    @given(CAPACITIES, st.integers(min_value=0, max_value=20), st.integers(0, 3))
    def test_lists_calls_in_flight_and_the_latest_finished_by_arrival(
        self, capacity: int, finished: int, in_flight: int
    ) -> None:
        window = CallWindow(capacity)
        calls = [record_of(f"k{n}", float(n)) for n in range(finished + in_flight)]
        for call in calls:
            window.begin(call)
        for call in calls[in_flight:]:
            window.finish(call)
        kept = calls[:in_flight] + calls[in_flight:][-capacity:]
        assert [c.key for c in window] == [c.key for c in kept]
        assert len(window) == len(kept)
        assert not kept or window[-1].key == kept[-1].key

    def test_clear_forgets_calls_in_flight_and_finished(self) -> None:
        window = CallWindow(2)
        first, second = record_of("a", 1.0), record_of("b", 2.0)
        for call in (first, second):
            window.begin(call)
        window.finish(first)
        window.clear()
        window.finish(second)
        assert (len(window), list(window)) == (0, [])
