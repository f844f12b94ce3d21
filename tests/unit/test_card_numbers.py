"""A payment card's number is a secret wherever it is and whatever names it: a whole value (as
text, as a number, in any field), or a run of digits inside free text; and no id regflow
makes (a W3C trace's, a UUID) is ever taken for one."""

from __future__ import annotations

import json
import uuid
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from domain.limits import credential_names
from domain.secret_words import is_card_number
from domain.secrets import REDACTED, contains_sensitive, redact, redact_event, scrub_text
from tests.kit import with_check_digit

# Card networks' leading digits and a length their numbers have.
NETWORKS = [("4", 16), ("4", 13), ("4", 19), ("37", 15), ("51", 16), ("2720", 16)]
NETWORKS += [("6011", 16), ("65", 19), ("3530", 16), ("36", 14), ("62", 17)]


@st.composite
def cards(draw: st.DrawFn) -> str:
    """A valid card number of any network, written as people write them."""
    prefix, length = draw(st.sampled_from(NETWORKS))
    body = draw(st.text("0123456789", min_size=length - len(prefix) - 1).filter(bool))
    digits = with_check_digit((prefix + body)[: length - 1])
    assume(len(digits) == length)
    way = draw(st.sampled_from(["", " ", "-"]))
    return way.join(digits[i : i + 4] for i in range(0, len(digits), 4)) if way else digits


NAMES = st.text(min_size=1, max_size=20)
WORDS = st.text(st.characters(codec="utf-8", exclude_categories=("Nd", "Cs")), max_size=12)


def digits_of(card: str) -> str:
    return card.replace(" ", "").replace("-", "")


def shown(value: Any) -> str:
    return json.dumps(redact(value), ensure_ascii=False)


@given(cards(), NAMES)
def test_a_card_number_is_masked_under_any_name(card: str, name: str) -> None:
    assert is_card_number(card)
    document = {name: card, "nested": [{name: {"deeper": card}}]}
    assert card not in shown(document) and digits_of(card) not in shown(document)
    assert contains_sensitive({name: card})


@given(cards(), NAMES)
def test_a_card_number_sent_as_a_number_is_masked(card: str, name: str) -> None:
    number = int(digits_of(card))
    masked = redact({name: number, "list": [number]})
    assert str(number) not in json.dumps(masked)
    assert masked == {name: REDACTED, "list": [REDACTED]} or name == "list"


@given(cards(), WORDS, WORDS)
def test_a_card_number_in_free_text_is_masked_and_the_words_kept(
    card: str, before: str, after: str
) -> None:
    text = f"{before} {card} {after}"
    masked = scrub_text(text)
    assert digits_of(card) not in digits_of(masked)
    assert before.strip() in masked and after.strip() in masked


@given(cards(), st.text("0123456789", min_size=1, max_size=4))
def test_a_card_number_run_on_into_a_year_is_masked(card: str, year: str) -> None:
    assert digits_of(card) not in digits_of(scrub_text(f"paid with {card} {year} ok"))


@given(st.text("0123456789abcdef", min_size=16, max_size=16), st.sampled_from([16, 32]))
def test_a_traces_ids_are_never_taken_for_a_card(hex_id: str, size: int) -> None:
    value = (hex_id * 2)[:size]
    event = {"trace_id": value, "span_id": value[:16], "sub_step": "menuImport"}
    assert redact_event(event) == event
    state = {"sub_steps": {"menuImport": {"trace_id": value, "span_id": value[:16]}}}
    assert redact(state) == state


def test_a_decimal_span_id_that_reads_as_a_card_is_kept() -> None:
    span_id = with_check_digit("411111111111111")
    assert is_card_number(span_id)
    assert redact_event({"span_id": span_id}) == {"span_id": span_id}
    assert redact({"job": {"span_id": span_id}}) == {"job": {"span_id": span_id}}


@given(st.integers(min_value=0, max_value=10**10 - 1))
def test_a_uuid_of_digits_in_text_is_kept(seed: int) -> None:
    digits = str(seed).zfill(10) * 4
    job = str(uuid.UUID(digits[:32]))
    text = f"job {job} failed at 12:00"
    assert scrub_text(text) == text


@given(st.integers(min_value=10**12, max_value=10**19 - 1))
def test_a_long_number_is_masked_only_when_it_is_a_card(number: int) -> None:
    masked = redact({"count": number})
    assert (masked == {"count": REDACTED}) == is_card_number(str(number))


@given(cards())
def test_a_field_named_by_a_card_number_is_refused(card: str) -> None:
    assert credential_names({card: "x"}, "execution_config")


HEX = "0123456789abcdefABCDEF"


@st.composite
def ids_that_start_as_cards(draw: st.DrawFn) -> str:
    """A UUID whose first three groups are a valid card's sixteen digits, grouped 8-4-4, its
    fourth group starting with a letter (so no digit runs on after the third): one UUID in
    some tens of thousands, so a batch of 10,000 jobs holds one now and then."""
    prefix = draw(st.sampled_from(["4", "51", "2720", "6011", "65", "3530", "36", "62"]))
    body = draw(st.text("0123456789", min_size=15 - len(prefix), max_size=15 - len(prefix)))
    digits = with_check_digit(prefix + body)
    fourth = draw(st.sampled_from("abcdefABCDEF")) + draw(st.text(HEX, min_size=3, max_size=3))
    last = draw(st.text(HEX, min_size=12, max_size=12))
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:]}-{fourth}-{last}"


@given(ids_that_start_as_cards(), NAMES, WORDS)
def test_a_uuid_whose_digits_read_as_a_card_is_kept_everywhere(
    job_id: str, name: str, words: str
) -> None:
    """CI met one: a job's id masked in its read model's row (`***a598971e821307ee`), which
    then could not be read back as an id. The digits are a card's; the id is kept as a value
    under any name, in the ids regflow's events hold and inside any text."""
    assert is_card_number("".join(job_id.split("-")[:3]))
    text = f"{words} job {job_id} {words}"
    assert scrub_text(text) == text
    assert redact({name: job_id}) == {name: job_id} or contains_sensitive({name: "x"})
    assert redact({"job_id": job_id, "batch_id": job_id, "message": text}) == {
        "job_id": job_id,
        "batch_id": job_id,
        "message": text,
    }


@given(ids_that_start_as_cards(), cards())
def test_a_card_beside_a_uuid_that_reads_as_one_is_still_masked(job_id: str, card: str) -> None:
    shown_text = scrub_text(f"job {job_id} paid with {card}")
    assert shown_text == f"job {job_id} paid with {REDACTED}"
