"""A key a well-known service issued (Stripe, GitHub, Slack, GitLab, AWS, Google) is a secret by
its own prefix, under any name and inside free text."""

from __future__ import annotations

import json
import string

from hypothesis import given
from hypothesis import strategies as st

from domain.secret_words import _ISSUED_TOKEN, REDACTED, _issued_keys_masked
from domain.secrets import redact, scrub_text

ALNUM = string.ascii_letters + string.digits
KEYS = st.one_of(
    st.tuples(st.sampled_from(["sk_live_", "sk_test_", "rk_live_"]), st.text(ALNUM, min_size=8)),
    st.tuples(st.sampled_from(["ghp_", "gho_", "ghs_"]), st.text(ALNUM, min_size=20)),
    st.tuples(st.just("github_pat_"), st.text(ALNUM + "_", min_size=20)),
    st.tuples(st.sampled_from(["xoxb-", "xoxp-"]), st.text(ALNUM + "-", min_size=10)),
    st.tuples(st.just("glpat-"), st.text(ALNUM + "_-", min_size=20)),
    st.tuples(
        st.just("AKIA"), st.text(string.ascii_uppercase + string.digits, min_size=16, max_size=16)
    ),
    st.tuples(st.just("AIza"), st.text(ALNUM + "_-", min_size=35, max_size=35)),
).map("".join)
NAMES = st.text(min_size=1, max_size=15)
WORDS = st.text(st.characters(codec="ascii", exclude_characters=ALNUM + "_-"), max_size=6)


@given(KEYS, NAMES)
def test_an_issued_key_is_masked_under_any_name(key: str, name: str) -> None:
    assert key not in json.dumps(redact({name: key, "list": [key]}))


@given(KEYS, WORDS, WORDS)
def test_an_issued_key_in_free_text_is_masked(key: str, before: str, after: str) -> None:
    assert key not in scrub_text(f"note{before} {key} {after}end")


def test_words_that_only_begin_as_a_key_does_are_kept() -> None:
    kept = {"a": "sk_ski_trip", "b": "ghost kitchen", "c": "AKIA short", "d": "xox"}
    assert redact(kept) == kept


@given(
    st.lists(st.one_of(KEYS, st.text(max_size=12), st.sampled_from(["_", "-", " "])), max_size=6)
)
def test_the_quick_look_for_a_key_never_passes_over_one(pieces: list[str]) -> None:
    """The marks looked for before the expression runs lose no key the expression finds."""
    text = "".join(pieces)
    assert _issued_keys_masked(text) == _ISSUED_TOKEN.sub(REDACTED, text)
