"""Who acted stays readable in log lines: an API key's actor (`key:dev`) names the key's
organisation, not the key, while a value given to a secret's name is still masked."""

from __future__ import annotations

import json
import logging

from hypothesis import assume, example, given
from hypothesis import strategies as st

from domain.secrets import REDACTED, mask_credentials, scrub_text
from infrastructure.log_scrub import ScrubSecrets
from infrastructure.logs import JsonLines
from tests.credentials import SHORT_CREDENTIALS, Credential

# What an organisation id (the name of an API key's actor) or a subject may hold in an actor.
ACTOR_NAMES = st.text(
    st.characters(
        exclude_characters=" \t\"'{}[]:,", exclude_categories=["Cc", "Cf", "Cs", "Zl", "Zp", "Zs"]
    ),
    min_size=1,
    max_size=30,
)
SECRET_NAMES = st.sampled_from(
    ["key", "api_key", "apiKey", "X-Service-Key", "password", "token", "secret", "access_key"]
)
SEPARATORS = st.sampled_from(["=", ": ", " = ", '":"', "': '", '="', ":\t"])
VALUES = st.text(st.sampled_from("abcdefXYZ0123456789_-./+~"), min_size=1, max_size=40)


def logged(message: str, actor: str) -> tuple[str, dict[str, object]]:
    """A log record as the operations log writes it, after the scrubber: text and JSON line."""
    record = logging.LogRecord("regflow.operations", logging.INFO, "f", 1, message, None, None)
    record.fields = {"actor": actor}
    ScrubSecrets().filter(record)
    return record.getMessage(), json.loads(JsonLines().format(record))


@given(kind=st.sampled_from(["key", "user", "cli"]), name=ACTOR_NAMES)
@example(kind="key", name="dev")
@example(kind="key", name="bench")
@example(kind="key", name="token=abc")
def test_an_actor_survives_the_scrubber(kind: str, name: str) -> None:
    assume(mask_credentials(name) == name)  # a name shaped like a JWT is masked anywhere
    actor = f"{kind}:{name}"
    message = f"batch b-1 created: 'Auckland', 2 jobs, by {actor}, reason: a test"
    text, line = logged(message, actor)
    assert text == message
    assert (line["message"], line["actor"]) == (message, actor)


def test_only_the_kinds_of_actor_are_kept_a_jwt_given_is_masked() -> None:
    # `jwt` names a token (no actor is written `jwt:`): what is given to it is masked
    assert logged("edit by jwt:alice refused", "user:alice")[0] == "edit by jwt:*** refused"
    assert logged("edit by user:alice refused", "user:alice")[0] == "edit by user:alice refused"


@given(
    name=SECRET_NAMES,
    separator=SEPARATORS,
    value=VALUES,
    before=st.sampled_from(["by", "the header", "password=", "token:", "pass", "key:dev"]),
)
@example(name="key", separator="=", value="sk_live_abc", before="by")
@example(name="api_key", separator=":", value="sk_live_abc", before="by")
def test_a_value_given_to_a_secret_name_is_still_masked(
    name: str, separator: str, value: str, before: str
) -> None:
    assume(not (name == "key" and separator == ":"))  # `key:<name>` is an actor
    shown = scrub_text(f"{before} {name}{separator}{value} then")
    assert shown.endswith(f"{REDACTED} then"), shown


@given(name=SECRET_NAMES, separator=st.sampled_from(["=", ": ", ":"]), cred=SHORT_CREDENTIALS)
def test_a_credential_after_any_name_is_masked_even_written_like_an_actor(
    name: str, separator: str, cred: Credential
) -> None:
    shown, line = logged(f"refused {name}{separator}{cred.text} now", f"key:{cred.text}")
    for needle in cred.needles:
        assert needle not in shown and needle not in json.dumps(line)
