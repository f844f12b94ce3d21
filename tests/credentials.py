"""Credential-shaped strings planted in random text, for the properties that try to make them
show: Bearer tokens, Basic credentials, JWTs, PEM blocks and URLs' passwords, each with the
parts that must never be seen."""

from __future__ import annotations

import base64
import json
import string
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

from domain.secrets import DECLARED_ROOTS, Sensitivity, name_sensitivity

BASE64URL = string.ascii_letters + string.digits + "-_"
BASE64 = string.ascii_letters + string.digits + "+/"
TOKEN_CHARS = string.ascii_letters + string.digits + "-._~+/"  # RFC 6750's b64token
PEM_LABELS = (
    "PRIVATE KEY",
    "RSA PRIVATE KEY",
    "EC PRIVATE KEY",
    "OPENSSH PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "CERTIFICATE",
)


@dataclass(frozen=True)
class Credential:
    """A credential as it is written, the parts of it that must never show, and those that
    show (a URL's user and host)."""

    text: str
    needles: frozenset[str]
    kept: tuple[str, ...] = ()


@dataclass
class Planted:
    """What an example planted: the text around its credentials and what must never show."""

    around: list[str] = field(default_factory=list)
    needles: set[str] = field(default_factory=set)

    def leaked(self, shown: str) -> list[str]:
        """The needles that `shown` holds."""
        return sorted(n for n in self.needles if n in shown)

    def ambiguous(self) -> bool:
        """True when a needle is also in the text around the credentials: it shows there."""
        around = "\n".join(self.around)
        return any(n in around for n in self.needles)


def _chars(alphabet: str, least: int, most: int) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(alphabet), min_size=least, max_size=most)


@st.composite
def _secret_chars(draw: st.DrawFn, alphabet: str, least: int, most: int) -> str:
    """Random characters of a credential's part that must never show, with a digit and a
    letter of each case the alphabet has put in at random places: no word regflow shows itself
    looks like that (hypothesis also draws the project's own string constants, and a part
    that is `createOnboar` shows whether or not the credential does)."""
    groups = (string.digits, string.ascii_uppercase, string.ascii_lowercase)
    kinds = [[c for c in alphabet if c in group] for group in groups]
    chars = list(draw(_chars(alphabet, least, most - len(kinds))))
    for kind in (k for k in kinds if k):
        chars.insert(draw(st.integers(0, len(chars))), draw(st.sampled_from(kind)))
    return "".join(chars)


@st.composite
def bearers(draw: st.DrawFn) -> Credential:
    """`Bearer <token>`: any case, any blanks between, a b64token with optional padding."""
    word = draw(st.sampled_from(("Bearer", "bearer", "BEARER", "BeArEr")))
    gap = draw(_chars(" \t\n", 1, 3))
    token = draw(_secret_chars(TOKEN_CHARS, 12, 48))
    padding = draw(st.sampled_from(("", "=", "==")))
    return Credential(f"{word}{gap}{token}{padding}", frozenset({token}))


@st.composite
def basics(draw: st.DrawFn) -> Credential:
    """`Basic <base64 of user:password>`, as an Authorization header sends it: any case, any
    blanks between, padded as base64 is."""
    word = draw(st.sampled_from(("Basic", "basic", "BASIC", "bAsIc")))
    gap = draw(_chars(" \t\n", 1, 3))
    user = draw(_chars(string.ascii_letters + string.digits + "-._@", 1, 16))
    password = draw(_secret_chars(string.ascii_letters + string.digits + "-._~!:@ ", 6, 32))
    encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
    return Credential(f"{word}{gap}{encoded}", frozenset({encoded.rstrip("=")}))


def _b64url_json(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@st.composite
def jwts(draw: st.DrawFn) -> Credential:
    """`header.payload.signature` in base64url: a real JSON header or random characters after
    the `eyJ` every JSON header starts with."""
    claims = st.dictionaries(
        _chars(string.ascii_lowercase, 1, 6), _chars(BASE64URL, 1, 12), max_size=3
    )
    header = draw(
        st.one_of(
            st.builds(lambda c: _b64url_json({"alg": "HS256", **c}), claims),
            _secret_chars(BASE64URL, 10, 40).map(lambda rest: "eyJ" + rest),
        )
    )
    payload = draw(
        st.one_of(
            claims.filter(bool).map(_b64url_json).filter(lambda p: len(p) >= 10),
            _secret_chars(BASE64URL, 10, 60),
        )
    )
    signature = draw(_secret_chars(BASE64URL, 10, 60))
    needles = frozenset({header, payload, signature})
    return Credential(f"{header}.{payload}.{signature}", needles)


@st.composite
def pem_blocks(draw: st.DrawFn) -> Credential:
    """A PEM block: its label, maybe the headers of an encrypted key, base64 lines."""
    label = draw(st.sampled_from(PEM_LABELS))
    newline = draw(st.sampled_from(("\n", "\r\n")))
    lines = draw(st.lists(_secret_chars(BASE64, 16, 64), min_size=1, max_size=4))
    needles = set(lines)
    headers = ""
    if draw(st.booleans()):
        salt = draw(_secret_chars("0123456789ABCDEF", 16, 32))
        headers = f"Proc-Type: 4,ENCRYPTED{newline}DEK-Info: AES-128-CBC,{salt}{newline}{newline}"
        needles.add(salt)
    body = newline.join(lines) + draw(st.sampled_from(("", "=", "==")))
    text = f"-----BEGIN {label}-----{newline}{headers}{body}{newline}-----END {label}-----"
    return Credential(text, frozenset(needles))


# What a URL's userinfo holds unencoded (RFC 3986's unreserved, sub-delims and `%`), and
# letters beyond ASCII, as an IRI writes them.
USERINFO = string.ascii_letters + string.digits + "-._~!$&'()*+,;=%" + "éßøğ€中文Ωж"
ANY_PASSWORD = USERINFO + ' /?#@"<>\\{}|^`[]\t'  # written percent-encoded
AFTER_USERINFO = ("", "h", "ftp.example.com/site", "[::1]:5432/db?sslmode=require", "h:21#x")


@st.composite
def url_parts(draw: st.DrawFn) -> tuple[str, str, str, str]:
    """(scheme, user, password, what follows the `@`) of a URL: any scheme, a user that may be
    empty or an email address, a password of any characters, as written or percent-encoded."""
    scheme = draw(_chars(string.ascii_letters, 1, 1)) + draw(
        _chars(string.ascii_letters + string.digits + "+.-", 0, 12)
    )
    user = draw(st.one_of(_chars(USERINFO, 0, 16), _chars(USERINFO + "@", 3, 24)))
    password = draw(
        st.one_of(
            _secret_chars(USERINFO + ":@", 6, 200),
            _secret_chars(ANY_PASSWORD, 6, 40).map(lambda raw: quote(raw, safe="")),
        )
    )
    return scheme, user, password, draw(st.sampled_from(AFTER_USERINFO))


@st.composite
def url_passwords(draw: st.DrawFn) -> Credential:
    """`scheme://user:password@host...`: only the password must never show."""
    scheme, user, password, after = draw(url_parts())
    text = f"{scheme}://{user}:{password}@{after}"
    return Credential(text, frozenset({password}), (scheme, user, after))


@st.composite
def assignments(draw: st.DrawFn) -> Credential:
    """A value given to a secret's name in free text (`password=hunter2`, `token: abc`), set
    apart by blanks: the name is a whole word, the value runs to the next blank."""
    name = draw(st.sampled_from(("password", "Password", "token", "api_key", "passwd", "pwd")))
    sign = draw(st.sampled_from(("=", ": ", " = ", ":")))
    value = draw(_secret_chars(string.ascii_letters + string.digits + "-_.", 8, 24))
    return Credential(f" {name}{sign}{value} ", frozenset({value}))


CREDENTIALS = st.one_of(bearers(), basics(), jwts(), pem_blocks(), url_passwords())
SHORT_CREDENTIALS = st.one_of(bearers(), basics(), jwts(), url_passwords())
TEXT = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=24)


@st.composite
def planted_text(
    draw: st.DrawFn,
    planted: Planted,
    credentials: st.SearchStrategy[Credential] = CREDENTIALS,
    most: int = 3,
) -> str:
    """Random text with one to `most` credentials at random places in it."""
    found = draw(st.lists(credentials, min_size=1, max_size=most))
    around = [draw(TEXT) for _ in range(len(found) + 1)]
    planted.around.extend(around)
    for credential in found:
        planted.needles |= credential.needles
        planted.around.extend(credential.kept)
    return around[0] + "".join(c.text + after for c, after in zip(found, around[1:], strict=True))


PUBLIC_KEYS = _chars(string.ascii_letters + string.digits + "_-", 1, 16).filter(
    lambda k: name_sensitivity(k) is Sensitivity.PUBLIC and k not in DECLARED_ROOTS
)


@st.composite
def planted_documents(
    draw: st.DrawFn,
    planted: Planted,
    depth: int = 0,
    credentials: st.SearchStrategy[Credential] = CREDENTIALS,
) -> dict[str, Any]:
    """An object under names that say nothing secret, with credentials planted at any depth
    (in strings, in lists, in nested objects) beside ordinary values."""
    document: dict[str, Any] = {}
    keys = draw(st.lists(PUBLIC_KEYS, min_size=1, max_size=4, unique=True))
    planted.around.extend(keys)
    for key in keys:
        kind = draw(st.sampled_from(("text", "text", "list", "object", "plain")))
        if kind == "object" and depth < 2:
            document[key] = draw(planted_documents(planted, depth + 1, credentials))
        elif kind == "list":
            text = draw(planted_text(planted, credentials, most=1))
            document[key] = [text, draw(st.integers(-9999, 9999))]
        elif kind == "plain":
            text = draw(TEXT)
            planted.around.append(text)
            document[key] = draw(st.one_of(st.integers(-9999, 9999), st.booleans(), st.just(text)))
        else:
            document[key] = draw(planted_text(planted, credentials))
    return document
