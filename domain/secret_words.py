"""The shapes of values that say a secret: credential-shaped values, credentials embedded in
free text, and values given to a secret's name there. Part of the one classifier
(`domain.secrets`), which decides with declared types first, the words of names
(`domain.secret_names`) and these rules after."""

from __future__ import annotations

import binascii
import re
from collections.abc import Callable

from domain.secret_names import SECRET_PIECES, Sensitivity, as_read, name_sensitivity

REDACTED = "***"
_BEARER = re.compile(r"bearer\s+\S{6,}", re.IGNORECASE)
# `Basic <base64 of user:password>`, as an Authorization header carries it.
_BASIC = re.compile(r"basic\s+([A-Za-z0-9+/=]{8,})", re.IGNORECASE)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_PEM_EDGES = (
    re.compile(r"-----BEGIN [A-Z0-9 ]{1,60}-----"),
    re.compile(r"-----END [A-Z0-9 ]{1,60}-----"),
)
_SHAPE_STARTS = ("b", "B", "eyJ", "-----BEGIN ")
# Keys as well-known services issue them, recognised by their own prefixes whatever field
# holds them: Stripe's secret and restricted keys, GitHub's tokens, Slack's, GitLab's, AWS's
# access key ids, Google's API keys.
_ISSUED_TOKEN = re.compile(
    r"(?<![A-Za-z0-9_-])(?:"
    r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{8,}"
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"
    r"|xox[abposr]-[A-Za-z0-9-]{10,}|glpat-[A-Za-z0-9_-]{20,}"
    r"|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{35}"
    r")(?![A-Za-z0-9_-])"
)
# What every issued key holds, looked for before the expression (a fourth of its time): the
# texts that hold none of these, or are shorter than the shortest key (`xoxb-` and ten more),
# hold no issued key.
_ISSUED_MARKS = ("k_", "gh", "github_pat_", "xox", "glpat-", "AKIA", "AIza")
_SHORTEST_ISSUED = 15
# A payment card's number as people write it: 13 to 19 digits, in groups split by single
# blanks or dashes, not run on from a longer number or word.
_CARD_NUMBER = re.compile(r"(?<![\w.-])\d(?:[ -]?\d){12,18}(?![\w]|[.-]\d)")
_SEPARATED = re.compile(r"([ -])")
# A UUID, as every id of regflow's is written: its first three groups may be decimal digits
# in a card's grouping (`41111111-1111-4111-a...`), and are never read as a card's number.
_UUID = re.compile(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}")
# Where a card's number may be in ASCII text: a run of 13 digits, blanks and dashes or more
# (a third of the time the full expression takes to find nothing in most texts).
_ASCII_DIGIT_RUN = re.compile(r"[0-9][0-9 -]{11,}[0-9]")


def _may_hold_card(text: str) -> bool:
    """False when `text` certainly holds no card's number."""
    if text.isascii():
        return _ASCII_DIGIT_RUN.search(text) is not None
    return _CARD_NUMBER.search(text) is not None


_CARD_LENGTHS = {  # the card networks' leading digits, and the lengths of their numbers
    ("4",): (13, 16, 19),
    ("34", "37"): (15,),
    ("51", "52", "53", "54", "55", *map(str, range(2221, 2721))): (16,),
    ("6011", "65", *map(str, range(644, 650))): (16, 17, 18, 19),
    (*map(str, range(3528, 3590)),): (16, 17, 18, 19),
    ("36", "38", "39", *map(str, range(300, 306))): (14, 15, 16, 17, 18, 19),
    ("62",): (16, 17, 18, 19),
}
_CARD_PREFIXES = {p: lengths for prefixes, lengths in _CARD_LENGTHS.items() for p in prefixes}


def is_card_number(text: str) -> bool:
    """True for a payment card's number, whatever field holds it: the digits of a card
    network, as long as its numbers are, with a valid check digit (Luhn's)."""
    written = text.replace(" ", "").replace("-", "")
    if not (13 <= len(written) <= 19 and written.isdecimal()):
        return False
    digits = "".join(str(int(d)) for d in written) if not written.isascii() else written
    lengths = next(
        (_CARD_PREFIXES[digits[:n]] for n in (4, 3, 2, 1) if digits[:n] in _CARD_PREFIXES), ()
    )
    if len(digits) not in lengths:
        return False
    total = 0
    for place, digit in enumerate(map(int, reversed(digits))):
        total += digit if place % 2 == 0 else (2 * digit if digit < 5 else 2 * digit - 9)
    return total % 10 == 0


def _card_masked(found: re.Match[str]) -> str:
    """The run of digits `found` with the card number in it masked: the whole run, or the
    longest of its groups that is one (a card number run on into a year, `... 1111 2031`).
    Digits that are part of a UUID are kept: an id, not a card."""
    run = found.group(0)
    start, end = found.span()
    if "-" in run and any(
        start < uuid.end() and uuid.start() < end for uuid in _UUID.finditer(found.string)
    ):
        return run
    if is_card_number(run):
        return REDACTED
    groups = _SEPARATED.split(run)
    parts, blanks = groups[0::2], groups[1::2]
    for start in range(len(parts)):
        for end in range(len(parts), start, -1):
            if is_card_number("".join(parts[start:end])):
                before = "".join(p + b for p, b in zip(parts[:start], blanks, strict=False))
                after = "".join(b + p for b, p in zip(blanks[end - 1 :], parts[end:], strict=True))
                return before + REDACTED + after
    return run


def is_credential_shaped(value: str, cards: bool = True) -> bool:
    """True for a `Bearer ...` value, `Basic <user:password in base64>`, a JWT, a PEM block, a
    key a well-known service issued (`sk_live_...`, `ghp_...`) or (unless `cards` is false) a
    payment card's number (surrounding blanks ignored)."""
    if len(value) < 12:
        return False
    text = value.strip() if value[0].isspace() or value[-1].isspace() else value
    if text[:1].isdigit():
        return cards and _CARD_NUMBER.fullmatch(text) is not None and is_card_number(text)
    if _ISSUED_TOKEN.fullmatch(text) is not None:
        return True
    if not text.startswith(_SHAPE_STARTS):
        return False
    if text.startswith("-----BEGIN "):
        begin, end = _PEM_EDGES
        closing = end.search(text, max(0, len(text) - 80))
        return bool(begin.match(text)) and closing is not None and closing.end() == len(text)
    basic = _BASIC.fullmatch(text)
    if basic is not None:
        return is_user_and_password(basic.group(1))
    return any(shape.fullmatch(text) for shape in (_BEARER, _JWT))


def is_user_and_password(encoded: str) -> bool:
    """True for base64 text that starts with `user:password` in base64, as Basic credentials
    are sent (text run on after them, `dXNlcjpwYXNzfoo`, does not hide them)."""
    for cut in range(len(encoded) - len(encoded) % 4, 7, -4):
        try:
            decoded = binascii.a2b_base64(encoded[:cut].encode(), strict_mode=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            continue
        if ":" in decoded and decoded.isprintable():
            return True
    return False


_PEM = re.compile(
    r"-----BEGIN [A-Z0-9 ]{1,60}-----(?s:.{0,20000}?-----END [A-Z0-9 ]{1,60}-----|.*)"
)  # a block cut short (no END line) is masked to the end of the text
# Blanks, or blanks as a repr or JSON writes them (a log line that quotes a name with !r).
_GAP = r"(?:\s|\\[nrtfv]|\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4})+"
_NEXT_BEARER = rf"(?i:bearer){_GAP}[A-Za-z0-9._~+/=-]{{6}}"  # where a token written on ends
_TOKEN_CHAR = rf"(?:(?!{_NEXT_BEARER})[A-Za-z0-9._~+/=-])"
_JWT_CHAR = rf"(?:(?!{_NEXT_BEARER})[A-Za-z0-9_-])"
_NEXT_BASIC = rf"(?i:basic){_GAP}[A-Za-z0-9+/]{{8}}"  # where Basic credentials written on end
# Where a JWT written straight after Basic credentials begins: its header is in base64's
# alphabet, and taken into the credentials it would leave the rest of the JWT unmasked.
_NEXT_JWT = r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\."
_BASIC_IN_TEXT = re.compile(
    rf"((?i:basic){_GAP})"
    rf"((?:(?!{_NEXT_BEARER}|{_NEXT_BASIC}|{_NEXT_JWT})[A-Za-z0-9+/]){{8,}}={{0,2}})"
)
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
# The sign between a name and its value may be URL-encoded (`password%3D...`).
# A name may be written in any script, with invisible characters inside (`hasło`,
# `contraseña`, `pass\u200bword`): it is read as `name_sensitivity` reads field names.
_INVISIBLE = "\u00ad\u200b-\u200f\u2060-\u2064\ufeff\u202a-\u202e\u2066-\u2069"
_NAMED = re.compile(rf"([^\W\d][\w{_INVISIBLE}-]{{0,60}}+)([\"']?\s*(?:[:=]|%3[AaDd])\s*[\"']?)")
_VALUE = re.compile(r"[^\s\"',;&}=]+")
# A value in quotes runs to its closing quote, blanks and all (`token="two words"`).
_QUOTED = {'"': re.compile(r'(?:[^"\\]|\\.)*'), "'": re.compile(r"(?:[^'\\]|\\.)*")}
# A value that starts with an authorization scheme holds the credential after it
# (`Authorization: Basic dXNlcjpwYXNz`): both are the value.
_SCHEME = re.compile(rf"(?i:basic|bearer|digest|token|negotiate|ntlm){_GAP}(?=\S)")
# Actors as events record them (`key:<organisation>` for an API key's caller, `user:<sub>`,
# `cli:<user>`): names of who acted, never secrets, though `key` is a secret's name elsewhere.
# Written tight (no blank or quote at the colon) and not inside a longer name, an actor is
# kept whole; `key=...`, `key: ...`, `"key":"..."` and `api_key:...` are still secrets.
_ACTOR = re.compile(r"(?<![A-Za-z0-9_.-])(?:key|user|cli):[^\s\"'{}\[\]:,]+")


def mask_credentials(text: str, cards: bool = True) -> str:
    """`text` with every credential in it masked: all of it when it is one, else each Bearer
    token, Basic credentials, JWT, PEM block, issued key, payment card's number (unless `cards`
    is false) and URL's password inside it (PEM blocks first: a token's characters run on into the
    dashes of a block written straight after it)."""
    if len(text) < _SHORTEST_CREDENTIAL:
        return text
    if cards and len(text) >= 13 and _may_hold_card(text):
        text = _CARD_NUMBER.sub(_card_masked, text)
    pem, url = "-----BEGIN " in text, "://" in text
    lower = text.lower() if not pem and not url and "eyJ" not in text else ""
    if lower and "bearer" not in lower and "basic" not in lower:
        return _issued_keys_masked(text)  # no other credential starts in it: most texts
    if is_credential_shaped(text, cards=False):  # a card's number is masked already
        return REDACTED
    if pem:
        text = _PEM.sub(REDACTED, text)
    if not lower or "basic" in lower:  # before tokens: a token run on into `Basic` takes it
        text = _BASIC_IN_TEXT.sub(_basic_masked, text)
    text = _TOKENS.sub(REDACTED, text)  # before issued keys: `Bearer sk_live_...` is one
    text = _URL_PASSWORD.sub(rf"\g<1>{REDACTED}@", text) if url else text
    return _issued_keys_masked(text)


def _issued_keys_masked(text: str) -> str:
    if len(text) < _SHORTEST_ISSUED or not any(mark in text for mark in _ISSUED_MARKS):
        return text
    return _ISSUED_TOKEN.sub(REDACTED, text)


def mask_declared_public(text: str) -> str:
    """A text declared public (an id regflow or a client made: a trace's, an idempotency key)
    with the credentials in it masked. Its digits are never read as a card's number: a W3C
    trace's ids are hex, and one in every few thousand is decimal digits alone."""
    return mask_credentials(text, cards=False)


def _basic_masked(found: re.Match[str]) -> str:
    """Basic credentials masked, the word `Basic` kept; other text after `basic` kept."""
    if is_user_and_password(found.group(2)):
        return f"{found.group(1)}{REDACTED}"
    return found.group(0)


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
    if "=" not in masked and ":" not in masked and "%3" not in masked:
        return masked  # no value is given to any name in it
    shown = masked if masked.isascii() else as_read(masked)
    if SECRET_PIECES.search(shown.lower()) is None:
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
        end = _value_end(masked, named)
        if masked[named.end() : end] not in ("", REDACTED):
            kept += [masked[done : named.end()], REDACTED]
            done = end
    return "".join(kept) + masked[done:]


def _value_end(text: str, named: re.Match[str]) -> int:
    """Where the value given to the name `named` found in `text` ends."""
    start = named.end()
    quote = named.group(2)[-1]
    if quote in _QUOTED:
        inside = _QUOTED[quote].match(text, start).end()  # type: ignore[union-attr]
        if inside < len(text):  # closed; an unclosed quote is read as no quote
            return inside
    scheme = _SCHEME.match(text, start)
    value = _VALUE.match(text, scheme.end() if scheme is not None else start)
    return start if value is None else value.end()
