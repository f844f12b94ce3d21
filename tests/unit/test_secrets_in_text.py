"""Credentials inside text: masked wherever a value is shown, the words around them kept."""

from __future__ import annotations

import base64
import json
import logging
import re

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from domain.secrets import REDACTED, mask_credentials, redact, redact_event, scrub_text
from infrastructure.log_scrub import ScrubSecrets
from infrastructure.logs import JsonLines
from tests.credentials import TEXT, Planted, planted_documents, planted_text, url_parts

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1LTEifQ.c2lnbmF0dXJlLXZhbHVl"
PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"
ENCRYPTED_PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n"
    "DEK-Info: AES-128-CBC,0123456789ABCDEF\n\n"
    f"{PEM_BODY}\n-----END RSA PRIVATE KEY-----"
)
MARKS = re.compile(r"(?i:bearer)|eyJ|-----BEGIN|://")
# A name holding a word of a secret's (its words are pieces of it) given a value.
NAMED_SECRETS = re.compile(
    r"(?i:pass|pwd|secret|token|auth|cookie|session|credential|signature|pin|otp|cvv|key)"
    r"[A-Za-z0-9_-]*[\"']?\s*[:=]"
)


class TestCredentialsInsideText:
    def test_a_bearer_token_inside_a_reason_is_masked_and_the_words_around_it_kept(
        self,
    ) -> None:
        reason = "used Bearer sk_live_ABCDEF123456 to do it"
        assert redact({"reason": reason}) == {"reason": f"used {REDACTED} to do it"}

    def test_a_credential_inside_a_string_of_a_nested_result_is_masked(self) -> None:
        result = {"msg": "the header was Bearer sk_live_INSIDE777 ok", "items": [f"jwt {JWT}."]}
        assert redact({"result": result}) == {
            "result": {"msg": f"the header was {REDACTED} ok", "items": [f"jwt {REDACTED}."]}
        }

    def test_an_encrypted_pem_key_inside_text_is_masked_whole(self) -> None:
        shown = redact({"note": f"key: {ENCRYPTED_PEM} (old)"})
        assert shown == {"note": f"key: {REDACTED} (old)"}

    def test_a_pem_block_cut_short_is_masked_to_its_end(self) -> None:
        shown = redact({"note": f"pasted -----BEGIN PRIVATE KEY-----\n{PEM_BODY}"})
        assert shown == {"note": f"pasted {REDACTED}"}

    def test_a_pem_block_right_after_a_bearer_token_is_masked_whole(self) -> None:
        text = f"Bearer abc123def-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY-----"
        assert PEM_BODY not in json.dumps(redact({"note": text}))
        assert PEM_BODY not in scrub_text(text)

    @pytest.mark.parametrize("gap", ["", " then "])
    def test_a_jwt_written_straight_after_basic_credentials_is_masked_whole(self, gap: str) -> None:
        basic = base64.b64encode(b"0:aA00000000000").decode()  # no padding to end it
        text = f"sent Basic {basic}{gap}{JWT} twice"
        for shown in (json.dumps(redact({"note": text})), scrub_text(text)):
            assert not any(part in shown for part in (basic, *JWT.split(".")))
            assert shown.startswith('{"note": "sent Basic ') or shown.startswith("sent Basic ")

    def test_text_that_only_mentions_bearers_or_keys_is_kept(self) -> None:
        plain = {
            "a": "Bearer of bad news",
            "b": "keyboard=qwerty",
            "c": "eyJ is how JSON starts in base64",
            "d": "-----BEGIN nothing",
        }
        assert redact(plain) == plain

    def test_an_events_reason_and_its_idempotency_key(self) -> None:
        data = {"reason": "Bearer sk_live_WHOLEVALUE999", "idempotency_key": "j-1:menuImport:2"}
        assert redact_event(data) == {"reason": REDACTED, "idempotency_key": "j-1:menuImport:2"}


class TestUrlPasswords:
    def test_the_reported_urls_show_with_only_their_passwords_masked(self) -> None:
        config = {
            "website": {
                "ftp_url": "ftp://deploy:FTPPASS-123@ftp.example.com/site",
                "webhook": "https://hook:HOOKPASS-9@hooks.example.com/x",
            },
            "db": "postgres://u:DBPW@h/db",
        }
        assert redact({"execution_config": config}) == {
            "execution_config": {
                "website": {
                    "ftp_url": f"ftp://deploy:{REDACTED}@ftp.example.com/site",
                    "webhook": f"https://hook:{REDACTED}@hooks.example.com/x",
                },
                "db": f"postgres://u:{REDACTED}@h/db",
            }
        }

    def test_a_password_after_a_user_named_like_a_secret_is_masked_and_the_host_kept(
        self,
    ) -> None:
        text = "cloned https://x-access-token:ghp_abc123@github.com/o/r.git, then redis://:pw9@h"
        assert scrub_text(text) == (
            f"cloned https://x-access-token:{REDACTED}@github.com/o/r.git, "
            f"then redis://:{REDACTED}@h"
        )

    @pytest.mark.parametrize(
        "text",
        [
            "https://user@host.example.com/x",
            "ftp://ann@example.com@files.example.com:21/in",
            "https://host.example.com:8080/inbox@team",
            "http://h:80?to=ann@example.com",
            "meet at 10:30 @ the office",
            "write to ann@example.com: she knows",
            "mailto:ann@example.com",
            "see http://h:80 or ann@example.com",
        ],
    )
    def test_text_with_at_and_colon_but_no_urls_password_is_kept(self, text: str) -> None:
        assert redact({"note": text, "shops": [text]}) == {"note": text, "shops": [text]}
        assert scrub_text(text) == text

    @settings(max_examples=300, deadline=None)
    @given(url_parts())
    def test_only_the_password_of_any_url_is_masked(self, parts: tuple[str, ...]) -> None:
        scheme, user, password, after = parts
        url = f"{scheme}://{user}:{password}@{after}"
        assert mask_credentials(url) == f"{scheme}://{user}:{REDACTED}@{after}"


def a_log_line(message: str, fields: dict[str, object]) -> str:
    record = logging.LogRecord("regflow.operations", logging.INFO, "f", 1, message, None, None)
    record.fields = fields
    ScrubSecrets().filter(record)
    return JsonLines().format(record)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_no_planted_credential_shows_in_a_shown_value_or_a_log_line(data: st.DataObject) -> None:
    planted = Planted()
    reason = data.draw(planted_text(planted), "reason")
    result = data.draw(planted_documents(planted), "result")
    assume(not planted.ambiguous())
    shown = {
        "value": json.dumps(redact({"reason": reason, "result": result})),
        "event": json.dumps(redact_event({"reason": reason, "result": result})),
        "log": a_log_line(f"{reason} (quoted: {reason!r})", {"reason": reason, "result": result}),
    }
    assert {where: planted.leaked(text) for where, text in shown.items()} == dict.fromkeys(
        shown, []
    )


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        TEXT.filter(lambda t: MARKS.search(t) is None and NAMED_SECRETS.search(t) is None),
        min_size=1,
        max_size=4,
    )
)
def test_text_without_a_credential_is_shown_as_it_is(texts: list[str]) -> None:
    document = {"reason": texts[0], "result": {"note": texts[1:]}}
    assert redact(document) == document
