"""A name is free text, masked as the log masks it: a value given to a secret's name inside a
batch's or a restaurant's name (`Buzz password=hunter2`) is masked in every answer, read model
and export, as it is in the log; a credential or a card's number inside a name too. And the
secrets' and personal data's names the vocabulary missed."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.secrets import Sensitivity, name_sensitivity, redact, scrub_text

SECRET_NAMES = st.sampled_from(["Key", "Pass", "token", "Secret", "password", "pw", "auth"])
SIGNS = st.sampled_from([": ", "=", " = ", ":"])
WORDS = st.text(st.characters(categories=("L",)), min_size=1, max_size=8)
VALUES = st.text(st.characters(categories=("Nd",), max_codepoint=127), min_size=6, max_size=12)
NAME_FIELDS = st.sampled_from(["name", "restaurant_name", "displayName", "batch-name"])


@given(NAME_FIELDS, WORDS, SECRET_NAMES, SIGNS, VALUES, WORDS)
def test_a_value_given_to_a_secret_s_name_inside_a_name_is_masked_as_the_log_masks_it(
    field: str, before: str, secret: str, sign: str, value: str, after: str
) -> None:
    name = f"{before} {secret}{sign}{value} {after}"
    shown = redact({field: name, "restaurant": {field: name}, "jobs": [{field: name}]})
    logged = scrub_text(name)
    assert shown == {field: logged, "restaurant": {field: logged}, "jobs": [{field: logged}]}
    assert value not in json.dumps(shown)


@pytest.mark.parametrize(
    ("credential", "secret"),
    [
        ("Bearer abcdefghijkl", "abcdefghijkl"),
        ("4111 1111 1111 1111", "4111 1111 1111 1111"),
        ("sk_live_abcdefgh12", "sk_live_abcdefgh12"),
        ("https://u:hunter2@h.example", "hunter2"),
    ],
)
@pytest.mark.parametrize("field", ["name", "restaurant_name"])
def test_a_credential_inside_a_name_is_still_masked(
    field: str, credential: str, secret: str
) -> None:
    assert secret not in json.dumps(redact({field: f"Cafe {credential} Bar"}))
    assert secret not in json.dumps(redact({field: credential}))


def test_a_field_of_a_person_s_name_is_still_personal() -> None:
    assert name_sensitivity("first_name") is Sensitivity.PERSONAL
    assert name_sensitivity("contact_name") is Sensitivity.PERSONAL


@pytest.mark.parametrize(
    "field", ["psw", "creds", "пароль", "user_пароль", "密码", "密碼", "パスワード", "비밀번호"]
)
def test_more_secrets_names(field: str) -> None:
    assert name_sensitivity(field) is Sensitivity.SECRET
    assert "hunter2" not in json.dumps(redact({field: "hunter2"}))
    assert "hunter2" not in scrub_text(f"login with {field}=hunter2 please")


@pytest.mark.parametrize("field", ["bank_account", "bankAccount", "bank_acct", "bank_routing"])
def test_a_bank_account_is_personal(field: str) -> None:
    assert name_sensitivity(field) is Sensitivity.PERSONAL


@pytest.mark.parametrize("field", ["bank_name", "account_id", "name", "restaurant_name"])
def test_names_that_are_neither_stay_public(field: str) -> None:
    assert name_sensitivity(field) is Sensitivity.PUBLIC
