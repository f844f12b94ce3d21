"""Where free text quotes a job's personal data (`domain.quoted_values`): found in any case, a
phone number however spaced, a secret only as written; short values never mask ordinary words."""

from __future__ import annotations

import copy
import pickle

from hypothesis import given
from hypothesis import strategies as st

from domain.quoted_values import Quotable, quotable, quoting, quoting_public
from domain.quotes import QuotingText, joined, prefixed, without_quotes
from domain.secrets import REDACTED

EMAIL, PHONE, NAME = "Ann.Lee@Example.org", "+64 21 555 0199", "Ann Lee"
VALUES = Quotable(personal=(EMAIL, NAME, PHONE), secrets=("hunter2-secret",))


def quotes_of(text: str, values: Quotable = VALUES) -> list[str]:
    marked = quoting(text, values)
    if not isinstance(marked, QuotingText):
        return []
    return [piece for piece, quote in marked.pieces() if quote]


class TestWhatIsFound:
    def test_an_email_in_any_case_and_the_text_kept_as_written(self) -> None:
        text = f"owner {EMAIL.upper()} and {EMAIL} asked"
        assert quoting(text, VALUES) == text
        assert quotes_of(text) == [EMAIL.upper(), EMAIL]

    def test_a_phone_number_however_spaced_but_not_inside_a_longer_number(self) -> None:
        text = "call 64215550199, +64-21-555-0199 or (64) 21 5550199; order 9642155501990"
        assert quotes_of(text) == ["64215550199", "+64-21-555-0199", "64) 21 5550199"]

    def test_an_international_phone_number_in_its_national_forms(self) -> None:
        text = "call 021 555 0199 or (021) 5550199, not 10215550199 nor 02155501990"
        assert quotes_of(text) == ["021 555 0199", "021) 5550199"]
        for phone, text, national in (
            ("+1 415 555 0199", "call (415) 555-0199 today", "415) 555-0199"),
            ("+44 20 7946 0958", "call 020 7946 0958 today", "020 7946 0958"),
            ("+44 20 7946 0958", "call +44 (0)20 7946 0958 today", "0)20 7946 0958"),
        ):
            assert quotes_of(text, Quotable(personal=(phone,))) == [national]

    def test_a_name_in_any_case_and_the_text_kept_as_written(self) -> None:
        text = "Ann Lee asked; ann lee and ANN LEE did too"
        assert quoting(text, VALUES) == text
        assert quotes_of(text) == ["Ann Lee", "ann lee", "ANN LEE"]

    def test_a_secret_only_as_written(self) -> None:
        assert quotes_of("it was HUNTER2-SECRET, not the secret") == []

    def test_a_short_value_only_as_a_word_and_a_very_short_one_never(self) -> None:
        values = Quotable(personal=("Anna", "Bo", "021"))
        assert quotes_of("Anna asked Annabel, Bo and Bob in room 021", values) == ["Anna"]

    def test_overlapping_quotes_are_one_and_touching_ones_two(self) -> None:
        values = Quotable(personal=("lee@example.org", "ann.lee@example"))
        assert quotes_of("ann.lee@example.org", values) == ["ann.lee@example.org"]
        assert quotes_of(f"{EMAIL}{EMAIL}") == [EMAIL, EMAIL]

    def test_a_quoted_secret_is_masked_and_marked(self) -> None:
        marked = quoting("it was hunter2-secret, said Ann Lee", VALUES)
        assert marked == f"it was {REDACTED}, said Ann Lee"
        assert quotes_of(marked) == [REDACTED, NAME]

    def test_text_that_quotes_nothing_is_left_as_it_is(self) -> None:
        assert type(quoting("no payments, asked the owner", VALUES)) is str


class TestTheJobsValues:
    def test_its_personal_data_and_secrets_by_the_one_classifier(self) -> None:
        config = {
            "account": {"email": EMAIL, "password": "hunter2-secret", "phone": "021"},
            "restaurant": {"name": "Diner", "owner_email": "o@diner.example"},
            "onboarding_user": {"name": NAME},
        }
        values = quotable({"restaurant": {"name": "Diner"}, "execution_config": config})
        assert values == Quotable((NAME, EMAIL, "o@diner.example"), ("hunter2-secret",))

    def test_a_configs_public_texts_are_marked_and_its_fields_left_as_they_are(self) -> None:
        config = {"account": {"email": EMAIL, "password": "hunter2-secret"}, "note": f"{NAME}"}
        marked = quoting_public({"execution_config": config}, VALUES)["execution_config"]
        assert marked == config
        assert isinstance(marked["note"], QuotingText)
        assert type(marked["account"]["email"]) is str


class TestQuotingText:
    def test_kept_by_copies_pickles_and_prefixes(self) -> None:
        marked = quoting(f"owner {EMAIL} asked", VALUES)
        for kept in (copy.deepcopy(marked), pickle.loads(pickle.dumps(marked))):
            assert (kept, quotes_of(kept, Quotable())) == (marked, [EMAIL])
        failed = prefixed("marked failed: ", marked)
        assert quotes_of(failed, Quotable()) == [EMAIL]
        assert without_quotes(failed, "#") == "marked failed: owner # asked"

    @given(st.lists(st.tuples(st.text(), st.booleans())))
    def test_its_pieces_join_to_it(self, pieces: list[tuple[str, bool]]) -> None:
        text = joined(pieces)
        assert text == "".join(piece for piece, _ in pieces)
        assert isinstance(text, QuotingText) == any(q and p for p, q in pieces)
        if isinstance(text, QuotingText):
            again = joined(text.pieces())
            assert isinstance(again, QuotingText) and again.spans == text.spans
            assert [p for p, q in text.pieces() if q] == [p for p, q in pieces if q and p]
