"""An organisation id the use-case layer takes can be sent with every call of its jobs: one
that would break the calls' headers is refused when its batch is created, and nothing is made."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.http_writer import _py_serialize_headers
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

from domain.exceptions import InvalidInput
from domain.limits import MAX_ORGANISATION, identity_errors, organisation_errors
from domain.secret_words import scrub_text
from domain.secrets import redact
from infrastructure.executors.http import HttpExecutor
from infrastructure.executors.port import SubStepCall
from infrastructure.settings import ORGANISATION, Settings
from infrastructure.usecases.registrations import Registrations
from tests.kit import restaurants


def call_of(organisation: str) -> SubStepCall:
    return SubStepCall("job-1", organisation, "menuImport", "/import-menu", "k:1", 1, {})


@settings(max_examples=500, deadline=None)
@given(organisation=st.text(max_size=MAX_ORGANISATION + 5))
def test_an_organisation_accepted_is_one_every_call_can_carry(organisation: str) -> None:
    if organisation_errors(organisation):
        return
    headers = HttpExecutor("http://127.0.0.1:1").headers_for(call_of(organisation))
    # What aiohttp writes on the wire, and refuses when a header would inject a line.
    _py_serialize_headers("POST /import-menu HTTP/1.1", CIMultiDict(headers))


# What no call can carry, and what reads as a credential (shown masked, it would read as
# another organisation's in the read models, which filter by what they show).
REFUSED = ["ev\x1b[2Jil", "a\nb", "tab\there", "del\x7f", " ", ""]
REFUSED += ["org password=OrgPw-H2", "token=Tk-J1", "Bearer abcdefgh12"]
REFUSED += ["eyJhbGciOiJI.eyJzdWIiOiJ4.c2ln"]


@pytest.mark.parametrize("organisation", REFUSED)
def test_a_batch_of_an_organisation_no_call_can_carry_is_refused_and_nothing_made(
    app: Registrations, organisation: str
) -> None:
    before = app.recorder.max_notification_id()
    with pytest.raises(InvalidInput) as refused:
        app.create_batch(organisation, "user:test", "hostile org", restaurants(2))
    assert refused.value.errors and refused.value.errors[0].startswith("organisation: ")
    assert not organisation.strip() or not any(organisation in e for e in refused.value.errors)
    assert app.recorder.max_notification_id() == before


@pytest.mark.parametrize("organisation", ["café", "日本", "my org", "acme-prod_1"])
def test_organisations_in_any_script_and_with_spaces_are_taken(
    app: Registrations, organisation: str
) -> None:
    batch, jobs, _ = app.create_batch(organisation, "user:test", "any script", restaurants(1))
    assert batch.organisation_id == organisation and len(jobs) == 1


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(organisation=st.text(st.characters(max_codepoint=0x9F), min_size=1, max_size=20))
def test_the_default_organisation_setting_follows_the_same_rule(organisation: str) -> None:
    fields: dict[str, Any] = {"_env_file": None, "default_org": organisation}
    if organisation_errors(organisation):
        with pytest.raises(ValueError, match="REGFLOW_DEFAULT_ORG"):
            Settings(**fields)
    else:
        assert Settings(**fields).default_org == organisation


HIDING = st.characters(categories=["Cc", "Cf", "Cs", "Zl", "Zp"])
PRINTABLE = st.text(st.characters(categories=["L", "N", "P", "S", "Zs"]), max_size=20)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(before=PRINTABLE, hidden=HIDING, after=PRINTABLE)
def test_an_organisation_hiding_what_it_is_is_refused_and_nothing_made(
    app: Registrations, before: str, hidden: str, after: str
) -> None:
    """A bidi override or zero-width character would let one organisation pass for another."""
    before_head = app.recorder.max_notification_id()
    with pytest.raises(InvalidInput) as refused:
        app.create_batch(before + hidden + after, "user:test", "hidden org", restaurants(1))
    assert any(e.startswith("organisation: control, format") for e in refused.value.errors)
    assert app.recorder.max_notification_id() == before_head


@given(st.text(max_size=MAX_ORGANISATION + 5))
def test_an_organisation_id_follows_the_rule_of_every_identity(text: str) -> None:
    assert organisation_errors(text, "who") == identity_errors(text, "who")


PIECES = [
    "password",
    "token",
    "secret",
    "key",
    "user",
    "Bearer ",
    "Basic ",
    "eyJhbGciOiJI.",
    "eyJzdWIiOiJ4.",
    "=",
    ":",
    "%3D",
    " ",
    "://u:",
    "@",
    "-----BEGIN ",
    "dev",
    "acme",
    "pw1",
    "api_key",
    "passwd",
    "x" * 8,
]
IDENTITY_LIKE = st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=8).map("".join)


@settings(max_examples=600, deadline=None)
@given(identity=IDENTITY_LIKE)
def test_every_identity_taken_is_shown_as_it_is(identity: str) -> None:
    """An organisation, a token's subject or a worker id that masking would change is
    refused: the read models store them masked, and filter by them."""
    if identity_errors(identity, "who"):
        return
    assert redact(identity) == identity
    assert redact({"organisation_id": identity, "name": identity}) == {
        "organisation_id": identity,
        "name": identity,
    }
    assert scrub_text(f"user:{identity}") == f"user:{identity}"
    if ORGANISATION.fullmatch(identity):  # an organisation an API key may name
        assert scrub_text(f"key:{identity}") == f"key:{identity}"
