"""A JWT's subject becomes the actor every event of the caller records: one that could pass for
another (bidi overrides, zero-width characters), forge a line (escapes, newlines) or read as a
credential (shown masked, so as another's) is refused, and every other name is recorded as sent."""

from __future__ import annotations

import time

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.auth import Authenticator
from api.errors import Unauthorized
from domain.limits import identity_errors
from infrastructure.settings import Settings

SECRET = "a-test-secret-of-at-least-32-bytes!!"
AUTH = Authenticator(Settings(_env_file=None, jwt_secret=SECRET))
HIDING = st.characters(categories=["Cc", "Cf", "Zl", "Zp"])
NAME = st.text(st.characters(categories=["L", "N", "P", "S", "Zs"]), min_size=1, max_size=40)
PLAIN = NAME.filter(lambda name: name.strip() and not identity_errors(name, "x"))


def bearer(**claims: object) -> str:
    return "Bearer " + jwt.encode(claims, SECRET, algorithm="HS256")


def claims(sub: object, org: object = "org-a") -> dict[str, object]:
    return {"sub": sub, "organisation_id": org, "exp": int(time.time()) + 300}


@given(PLAIN)
def test_a_plain_subject_is_the_actor_as_sent(sub: str) -> None:
    assert AUTH.caller(bearer(**claims(sub))).actor == f"user:{sub}"


@given(NAME, HIDING, NAME)
def test_a_subject_hiding_what_it_is_is_refused(before: str, hidden: str, after: str) -> None:
    with pytest.raises(Unauthorized, match="sub: control, format and line-breaking"):
        AUTH.caller(bearer(**claims(before + hidden + after)))


@given(NAME, HIDING, NAME)
def test_an_organisation_hiding_what_it_is_is_refused_naming_the_claim(
    before: str, hidden: str, after: str
) -> None:
    with pytest.raises(Unauthorized, match="organisation_id: control, format and line-breaking"):
        AUTH.caller(bearer(**claims("u-1", before + hidden + after)))


@given(PLAIN)
def test_a_plain_organisation_is_the_callers_as_sent(org: str) -> None:
    assert AUTH.caller(bearer(**claims("u-1", org))).organisation_id == org


CREDENTIALS = ["org password=OrgPw-H2", "token=SubTok-H1", "Bearer abcdefgh12", "x api_key: k1"]


@pytest.mark.parametrize("claim", ["sub", "organisation_id"])
@pytest.mark.parametrize("value", CREDENTIALS)
def test_a_claim_reading_as_a_credential_is_refused_naming_the_claim_not_the_value(
    claim: str, value: str
) -> None:
    """Shown masked (`org password=***`), an organisation would read as another's, and the
    read models filter by what they show."""
    sent = claims("u-1") | {claim: value}
    with pytest.raises(Unauthorized, match=f"{claim}: reads as a credential") as refused:
        AUTH.caller(bearer(**sent))
    assert value not in str(refused.value)


@pytest.mark.parametrize("missing", ["exp", "sub"])
def test_a_missing_required_claim_is_named(missing: str) -> None:
    sent = claims("u-1")
    del sent[missing]
    with pytest.raises(Unauthorized, match=f"Token lacks the {missing} claim"):
        AUTH.caller(bearer(**sent))


def test_an_overlong_subject_is_refused_as_such() -> None:
    with pytest.raises(Unauthorized, match="sub: at most 200 characters, not 5000"):
        AUTH.caller(bearer(**claims("u" * 5000)))
