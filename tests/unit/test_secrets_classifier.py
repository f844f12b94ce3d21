"""The classifier: declared types first, then the words of a name, then credential shapes."""

from __future__ import annotations

import logging

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from domain.failures import clean_message
from domain.secrets import (
    ERASED,
    REDACTED,
    Sensitivity,
    is_credential_shaped,
    name_sensitivity,
    name_words,
    redact,
    scrub_text,
    transform,
    words_of,
)
from infrastructure.log_scrub import ScrubSecrets

SECRET_NAMES = [
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "pass",
    "secret",
    "clientSecret",
    "token",
    "accessToken",
    "refresh_token",
    "apiKey",
    "APIKey",
    "serviceKey",
    "privateKey",
    "access_key",
    "X-Api-Key",
    "key",
    "auth",
    "authorization",
    "Authorization",
    "cookie",
    "session_cookie",
    "session",
    "credential",
    "credentials",
    "bearer",
    "signature",
    "webhookSignature",
    "pin",
    "pinCode",
    "card_pin",
    "otp",
    "cvv",
    "CVV",
    "password2",
    # written as one word, lookalike letters, invisible characters, other languages
    *("apikey", "Apikey", "accesstoken", "authtoken", "refreshtoken", "clientsecret"),
    *("secretkey", "newpassword", "sessionid", "passcode", "xapikey", "mypassword"),
    *("p\u0430ssword", "passw\u043erd_hash", "\uff30\uff21\uff33\uff33\uff37\uff2f\uff32\uff24"),
    *("to\u200bken", "pass\u202eword", "Passwort", "mot_de_passe", "contrase\u00f1a", "Kennwort"),
    *("card_number", "cardNumber", "creditCard", "cardNo", "gift_card_number", "cvc"),
    # a letter with a stroke, Portuguese and Spanish, a secret's name in odd case
    *("has\u0142o", "Has\u0142o", "has\u0142o_konta", "palavra-passe", "palavraPasse", "clave"),
    *("ToKEN", "tOKEN", "ToKen", "SecRET", "T\u043eKEN", "PassWORD", "PaSsWoRd"),
    # short forms, a second factor's and a recovery code, a security question's answer
    *("pw", "pw1", "PW", "jwt", "jwtToken", "mfa_code", "secondFactorCode", "totp_seed"),
    *("recovery_codes", "backupCodes", "verification_code", "security_answer"),
]
PUBLIC_NAMES = [
    "keyboard",
    "turkey",
    "monkey",
    "keyName",
    "toppings",
    "shipping",
    "spinach",
    "opinion",
    "passenger",
    "bypass",
    "author",
    "authorId",
    "menu_name",
    "name",
    "external_id",
    "menu_id",
    "enabled",
    *("city", "username", "displayName", "filename", "nickname", "contactless", "ownership"),
    *("taxonomy", "syntax", "lastUpdated", "fullscreen", "first"),
    "count",
    "description",
    "status",
    "pinned",
    *("keynote", "userid", "gift_card", "cardholder", "photo_kennel", "api_url"),
    *("KeyNote", "AuthorId", "Opinion", "Spinach", "Passenger", "ShipPing"),
    *("promo_code", "menu_code", "zipcode", "answer", "mfa_enabled", "backup_time", "seed"),
    *("power", "pwm", "security_level"),
]
PERSONAL_NAMES = [
    *("email", "contactEmail", "phone", "mobile_phone", "owner-email"),
    *("ssn", "owner_ssn", "date_of_birth", "dateOfBirth", "dob", "birthday", "iban"),
    *("passport", "passport_number", "bankIban"),
    # a person's name, address and tax id; anything filed under a person
    *("first_name", "lastName", "fullname", "FamilyName", "surname", "contact_name"),
    *("address", "home_address", "billingAddress", "tax_id", "taxNumber", "TAXID"),
    *("owner", "restaurant_owner", "contact", "person", "contacts"),
    *("Nachname", "vorname", "apellido", "sobrenome"),
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names_by_their_words(name: str) -> None:
    assert name_sensitivity(name) is Sensitivity.SECRET


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_harmless_names_are_not_secret(name: str) -> None:
    assert name_sensitivity(name) is Sensitivity.PUBLIC


@pytest.mark.parametrize("name", PERSONAL_NAMES)
def test_personal_names(name: str) -> None:
    assert name_sensitivity(name) is Sensitivity.PERSONAL


# Each Latin letter some other script draws alike, and the letters standing for it there.
LOOKALIKE_OF = {
    "a": "\u0430\u03b1",
    "e": "\u0435\u03b5",
    "o": "\u043e\u03bf",
    "p": "\u0440\u03c1",
    "c": "\u0441",
    "y": "\u0443",
    "x": "\u0445",
    "i": "\u0456\u03b9",
    "s": "\u0455",
    "k": "\u043a\u03ba",
    "t": "\u0442\u03c4",
    "P": "\u0420\u03a1",
    "A": "\u0410\u0391",
}
INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u202a\u202e\u2066"


@st.composite
def disguised(draw: st.DrawFn, name: str) -> str:
    """`name` as someone might write it to slip past: run together in one case, letters
    swapped for lookalikes, invisible characters put in, fullwidth forms."""
    if draw(st.booleans()):
        joined = "".join(name_words(name))
        name = draw(st.sampled_from([joined, joined.upper(), joined.capitalize()]))
    chars = []
    for char in name:
        if char in LOOKALIKE_OF and draw(st.booleans()):
            char = draw(st.sampled_from(LOOKALIKE_OF[char]))
        elif char.isascii() and char.isalnum() and draw(st.integers(0, 4)) == 0:
            char = chr(ord(char) + 0xFEE0)  # its fullwidth form
        chars.append(char)
        if draw(st.integers(0, 5)) == 0:
            chars.append(draw(st.sampled_from(INVISIBLE)))
    return "".join(chars)


@given(st.sampled_from(SECRET_NAMES).flatmap(disguised))
@example("apikey")
@example("p\u0430ssw\u043erd")
@example("\uff48\u200b\uff41\u200b\uff53\uff4c\uff4f\uff4b\uff4f\uff4e\uff54\uff41")  # haslokonta
def test_a_secret_name_however_disguised_is_secret(name: str) -> None:
    assert name_sensitivity(name) is Sensitivity.SECRET, ascii(name)


def test_words_split_every_case() -> None:
    assert words_of("serviceKey") == ["service", "key"]
    assert words_of("APIKey") == ["api", "key"]
    assert words_of("session_cookie") == ["session", "cookie"]
    assert words_of("x-api-key") == ["x", "api", "key"]


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTEifQ.c2lnbmF0dXJlLXZhbHVl"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----"


@pytest.mark.parametrize("value", ["Bearer abcdef123456", " bearer xyz.abc-123 ", JWT, PEM])
def test_credential_shaped_values(value: str) -> None:
    assert is_credential_shaped(value)


@pytest.mark.parametrize(
    "value", ["Bearer of bad news", "Buzz Burgers", "eyJ", "-----BEGIN nothing", "b", ""]
)
def test_ordinary_values_are_not_credentials(value: str) -> None:
    assert not is_credential_shaped(value)


class TestDeclaredTypes:
    def test_declared_secret_and_personal_fields_of_the_execution_config(self) -> None:
        seen: dict[str, Sensitivity] = {}
        config = {
            "account": {"email": "a@b.c", "password": "pw", "phone": "+64", "note": "x"},
            "onboarding_user": {"name": "Ann Lee", "email": "ann@x.y"},
            "menu": {"menu_id": "m-1"},
        }
        transform({"execution_config": config}, lambda k, v: seen.setdefault(v, k))
        assert seen == {
            "a@b.c": Sensitivity.PERSONAL,
            "pw": Sensitivity.SECRET,
            "+64": Sensitivity.PERSONAL,
            "Ann Lee": Sensitivity.PERSONAL,
            "ann@x.y": Sensitivity.PERSONAL,
        }

    def test_a_declared_public_field_wins_over_its_name_but_not_over_a_credential_value(
        self,
    ) -> None:
        config = {"menu": {"menu_id": "m-1", "item_tags": True}, "skip": ["itemTags"]}
        assert redact({"execution_config": config}) == {"execution_config": config}
        shaped = {"menu": {"menu_id": JWT}}
        assert redact({"execution_config": shaped})["execution_config"]["menu"]["menu_id"] == (
            REDACTED
        )

    def test_a_person_s_name_outside_the_config_is_not_guessed(self) -> None:
        assert redact({"restaurant": {"name": "Buzz"}}) == {"restaurant": {"name": "Buzz"}}


class TestRedact:
    def test_masks_secrets_at_any_depth_and_keeps_everything_else(self) -> None:
        value = {
            "account": {"serviceKey": "s1", "passwd": "p1", "email": "a@b"},
            "payment": {"access_key": "k1", "shipping": "fast"},
            "menu": {"toppings": ["cheese"]},
            "headers": {"X-Trace": "Bearer abcdef123456"},
            "credentials": {"user": "u", "pass": "p"},
            "items": [{"pin": 1234, "n": 1}, {"pin": ""}, {"token": None}],
        }
        assert redact(value) == {
            "account": {"serviceKey": REDACTED, "passwd": REDACTED, "email": "a@b"},
            "payment": {"access_key": REDACTED, "shipping": "fast"},
            "menu": {"toppings": ["cheese"]},
            "headers": {"X-Trace": REDACTED},
            "credentials": REDACTED,
            "items": [{"pin": REDACTED, "n": 1}, {"pin": ""}, {"token": None}],
        }

    def test_erased_values_show_as_erased(self) -> None:
        assert redact({"password": ERASED, "email": ERASED}) == {
            "password": ERASED,
            "email": ERASED,
        }


class TestScrubText:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("HTTP 401: token Bearer abc.def-123456 rejected", "HTTP 401: token *** rejected"),
            (f"bad jwt {JWT} given", "bad jwt *** given"),
            ("password=hunter2&user=bob", "password=***&user=bob"),
            ('{"apiKey": "k-123", "city": "Auckland"}', '{"apiKey": "***", "city": "Auckland"}'),
            ("keyboard=qwerty toppings: cheese", "keyboard=qwerty toppings: cheese"),
        ],
    )
    def test_embedded_credentials_are_masked_and_the_rest_kept(
        self, text: str, expected: str
    ) -> None:
        assert scrub_text(text) == expected

    def test_an_error_message_is_scrubbed_when_cleaned(self) -> None:
        assert clean_message("HTTP 400: secret=s3cr3t is wrong") == "HTTP 400: secret=*** is wrong"


def test_the_log_filter_masks_what_a_careless_line_would_leak() -> None:
    record = logging.LogRecord(
        "t", logging.ERROR, "f", 1, "call failed: %s", ("token=abc123",), None
    )
    ScrubSecrets().filter(record)
    assert record.getMessage() == "call failed: token=***"


def test_the_log_filter_masks_secrets_in_structured_fields() -> None:
    record = logging.LogRecord("t", logging.INFO, "f", 1, "stored", None, None)
    record.fields = {"apiKey": "k-1", "reason": "Bearer abcdefgh123", "actor": "user:u-1"}
    ScrubSecrets().filter(record)
    assert record.fields == {"apiKey": "***", "reason": "***", "actor": "user:u-1"}


@pytest.mark.parametrize("name", [*SECRET_NAMES, *PERSONAL_NAMES])
@pytest.mark.parametrize("flag", [True, False])
def test_a_flag_under_a_secret_or_personal_name_is_kept_as_it_is(name: str, flag: bool) -> None:
    assert redact({name: flag, "nested": [{name: flag}]}) == {name: flag, "nested": [{name: flag}]}


@given(
    st.sampled_from(SECRET_NAMES).flatmap(disguised),
    st.sampled_from(["=", ": ", '="', " = "]),
)
@example("has\u0142o", "=")
@example("l\u00f6senord", "=")
@example("contrase\u00f1a", ": ")
@example("password\u200b", "=")
@example("p\u0430ssword", "=")
def test_a_value_given_to_a_secret_name_in_free_text_is_masked_however_it_is_written(
    name: str, sign: str
) -> None:
    value = "PLANTED9x7"
    text = f"ops note: {name}{sign}{value} then more"
    assert value not in scrub_text(text), ascii(text)
