"""The words of names and the shapes of values that say a secret: the vocabulary matched on
the words of an undeclared field's name, credential-shaped values, and credentials embedded in
free text. Part of the one classifier (`domain.secrets`), which decides with declared types
first and these rules after."""

from __future__ import annotations

import re
from collections.abc import Callable
from enum import StrEnum
from functools import lru_cache

REDACTED = "***"


class Sensitivity(StrEnum):
    PUBLIC = "public"
    PERSONAL = "personal"
    SECRET = "secret"


SECRET_WORDS = frozenset(
    {
        *("password", "passwords", "passwd", "pwd", "passphrase", "pass", "secret", "secrets"),
        *("token", "tokens", "auth", "authorization", "cookie", "cookies", "session"),
        *("credential", "credentials", "bearer", "signature", "pin", "otp", "cvv"),
    }
)
SECRET_LAST_WORDS = frozenset({"key", "keys"})  # apiKey, access_key; not keyboard, turkey
PERSONAL_WORDS = frozenset({"email", "phone", "mobile"})
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_BEARER = re.compile(r"bearer\s+\S{6,}", re.IGNORECASE)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_PEM_EDGES = (
    re.compile(r"-----BEGIN [A-Z0-9 ]{1,60}-----"),
    re.compile(r"-----END [A-Z0-9 ]{1,60}-----"),
)
_SHAPE_STARTS = ("b", "B", "eyJ", "-----BEGIN ")


def words_of(name: str) -> list[str]:
    """The lower-case words of a camelCase, snake_case or kebab-case name."""
    return [word.lower() for word in _WORD.findall(name)]


@lru_cache(maxsize=8192)
def name_sensitivity(name: str) -> Sensitivity:
    """What an undeclared field holds, judged by the words of its name."""
    words = words_of(name)
    if not words:
        return Sensitivity.PUBLIC
    if words[-1] in SECRET_LAST_WORDS or not SECRET_WORDS.isdisjoint(words):
        return Sensitivity.SECRET
    if not PERSONAL_WORDS.isdisjoint(words):
        return Sensitivity.PERSONAL
    return Sensitivity.PUBLIC


def is_secret_key(name: str) -> bool:
    """True for an undeclared field name that holds a secret."""
    return name_sensitivity(name) is Sensitivity.SECRET


def is_credential_shaped(value: str) -> bool:
    """True for a `Bearer ...` value, a JWT or a PEM block (surrounding blanks ignored)."""
    if len(value) < 12:
        return False
    text = value.strip() if value[0].isspace() or value[-1].isspace() else value
    if not text.startswith(_SHAPE_STARTS):
        return False
    if text.startswith("-----BEGIN "):
        begin, end = _PEM_EDGES
        closing = end.search(text, max(0, len(text) - 80))
        return bool(begin.match(text)) and closing is not None and closing.end() == len(text)
    return any(shape.fullmatch(text) for shape in (_BEARER, _JWT))


_PEM = re.compile(
    r"-----BEGIN [A-Z0-9 ]{1,60}-----(?s:.{0,20000}?-----END [A-Z0-9 ]{1,60}-----|.*)"
)  # a block cut short (no END line) is masked to the end of the text
# Blanks, or blanks as a repr or JSON writes them (a log line that quotes a name with !r).
_GAP = r"(?:\s|\\[nrtfv]|\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4})+"
_NEXT_BEARER = rf"(?i:bearer){_GAP}[A-Za-z0-9._~+/=-]{{6}}"  # where a token written on ends
_TOKEN_CHAR = rf"(?:(?!{_NEXT_BEARER})[A-Za-z0-9._~+/=-])"
_JWT_CHAR = rf"(?:(?!{_NEXT_BEARER})[A-Za-z0-9_-])"
_TOKENS = re.compile(
    rf"(?i:bearer){_GAP}{_TOKEN_CHAR}{{6,}}"
    rf"|eyJ[A-Za-z0-9_-]{{5,}}\.[A-Za-z0-9_-]{{5,}}\.{_JWT_CHAR}*(?:\.{_JWT_CHAR}+)*"
)  # a JWT's signature may be empty; an encrypted one (JWE) has five parts
# A URL's password (`scheme://user:password@host`, any scheme): masked in place, the URL kept.
# The userinfo ends at the last `@` before a blank, `/`, `?`, `#` or a character no URL holds
# unencoded (`"`, `<`: where JSON or prose writes the URL's end; not `\`, which a repr writes
# inside a password holding `'`), so a user or a password holding an unencoded `@`
# (`ftp://ann@example.com:pw@host`) is masked whole; the password starts at the first `:`,
# and `user@host`, with no password, is not matched.
_NOT_IN_USERINFO = r"\s/?#\"<>{}|^`\[\]"
_URL_PASSWORD = re.compile(rf"(://[^{_NOT_IN_USERINFO}:]*+:)[^{_NOT_IN_USERINFO}]+@")
_SHORTEST_CREDENTIAL = len("a://:p@")
# A name is taken whole (possessively): what may follow it starts with no character of a name.
_NAMED = re.compile(r"([A-Za-z_][A-Za-z0-9_-]{0,60}+)([\"']?\s*[:=]\s*[\"']?)")
_VALUE = re.compile(r"[^\s\"',;&}=]+")
# Actors as events record them (`key:<organisation>` for an API key's caller, `user:<sub>`,
# `cli:<user>`): names of who acted, never secrets, though `key` is a secret's name elsewhere.
# Written tight (no blank or quote at the colon) and not inside a longer name, an actor is
# kept whole; `key=...`, `key: ...`, `"key":"..."` and `api_key:...` are still secrets.
_ACTOR = re.compile(r"(?<![A-Za-z0-9_.-])(?:key|user|cli):[^\s\"'{}\[\]:,]+")


def mask_credentials(text: str) -> str:
    """`text` with every credential in it masked: all of it when it is one, else each Bearer
    token, JWT, PEM block and URL's password inside it (PEM blocks first: a token's characters
    run on into the dashes of a block written straight after it)."""
    if len(text) < _SHORTEST_CREDENTIAL:
        return text
    pem, url = "-----BEGIN " in text, "://" in text
    if not pem and not url and "eyJ" not in text and "bearer" not in text.lower():
        return text  # no credential starts in it: most texts, spared the expressions below
    if is_credential_shaped(text):
        return REDACTED
    if pem:
        text = _PEM.sub(REDACTED, text)
    text = _TOKENS.sub(REDACTED, text)
    return _URL_PASSWORD.sub(rf"\g<1>{REDACTED}@", text) if url else text


def _inner_words(words: frozenset[str]) -> re.Pattern[str]:
    """An expression finding, in lower-case text, each of `words` that holds no other of them:
    text in which it finds none holds none of `words`."""
    inner = sorted(w for w in words if not any(o != w and o in w for o in words))
    return re.compile("|".join(re.escape(w) for w in inner))


# The words of a name are pieces of it, so a name the vocabulary calls secret holds one of
# these (in any case); text holding none of them gives no value to a secret's name.
_SECRET_PIECES = _inner_words(SECRET_WORDS | SECRET_LAST_WORDS)


def _gives_no_value(masked: str) -> Callable[[int, int], bool]:
    """Whether the name at (start, end) of `masked` gives no value: it is an actor
    (`key:dev`), or a URL's user (`://x-access-token:` before its password, masked already)."""
    actors = [m.span() for m in _ACTOR.finditer(masked)]
    users = {m.end(1) for m in _URL_PASSWORD.finditer(masked)} if "://" in masked else set()
    return lambda start, end: end in users or any(a <= start < b for a, b in actors)


def scrub_text(text: str) -> str:
    """Free text (an error message, a log line, a reason) as it may be shown anywhere: Bearer
    tokens, JWTs, PEM blocks, URLs' passwords and values given to secret names (`password=...`)
    masked; actors (`key:dev`, `user:alice`) are names of who acted and are kept."""
    masked = mask_credentials(text)
    if "=" not in masked and ":" not in masked:
        return masked  # no value is given to any name in it
    if _SECRET_PIECES.search(masked.lower()) is None:
        return masked  # no name in it is a secret's
    kept, done = [], 0
    gives_no_value: Callable[[int, int], bool] | None = None  # made once a secret's name is found
    for named in _NAMED.finditer(masked):
        # A name inside a value masked already counts when its own value lies beyond it
        # (`password=key=abc`: both values are masked).
        if named.end() <= done or name_sensitivity(named.group(1)) is not Sensitivity.SECRET:
            continue
        if gives_no_value is None:
            gives_no_value = _gives_no_value(masked)
        if gives_no_value(*named.span()):
            continue
        value = _VALUE.match(masked, named.end())
        if value is not None and value.group(0) != REDACTED:
            kept += [masked[done : named.end()], REDACTED]
            done = value.end()
    return "".join(kept) + masked[done:]
