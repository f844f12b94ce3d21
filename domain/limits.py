"""Limits on the shape of what callers send: free-form JSON may nest only so deep."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any

from domain.field_paths import child_path
from domain.secret_words import is_credential_shaped, scrub_text

MAX_NESTING = 32
"""Levels of objects and lists an execution_config or a manual result may hold."""

MAX_NAME = 300
"""Characters a batch's or a restaurant's name may hold."""

MAX_REASON = 2000
"""Characters an operator's reason may hold."""

MAX_SUB_STEP_NAME = 100
"""Characters a sub-step named in an edit may hold (the plan's longest has 22)."""


_CONTAINERS = (dict, list, tuple)


def depth_of(value: Any, limit: int | None = None) -> int:
    """How many levels of dicts and lists `value` nests (a scalar is 0), without recursion.

    Walks level by level; with `limit`, stops as soon as the depth passes it.
    """
    depth = 0
    level = [value] if isinstance(value, _CONTAINERS) else []
    while level and (limit is None or depth <= limit):
        depth += 1
        below: list[Any] = []
        for container in level:
            below.extend(container.values() if isinstance(container, dict) else container)
        level = [child for child in below if isinstance(child, _CONTAINERS)]
    return depth


def nesting_error(value: Any, where: str, limit: int = MAX_NESTING) -> str | None:
    """A message naming `where` when `value` nests deeper than `limit`, else None."""
    if depth_of(value, limit) > limit:
        return f"{where}: nested deeper than {limit} levels"
    return None


NUL = "NUL character"
SURROGATE = "not text (a lone surrogate: bytes that are not UTF-8?)"


def _unstorable(text: str) -> list[str]:
    """What in `text` no store can keep: a NUL, a lone surrogate (a JSON `\\ud800` escape
    with no pair, or an argument that is not UTF-8, decodes to one)."""
    found = [NUL] if "\x00" in text else []
    if any("\ud800" <= c <= "\udfff" for c in text):
        found.append(SURROGATE)
    return found


def _texts(value: Any, path: str) -> Iterator[tuple[str, str, bool]]:
    """Every text of a decoded JSON value: (where, text, whether it is an object's key), named
    from `path` as field errors are (`path` empty: from the top, named `body`; a key at
    `where.<key>`, never by itself). An object's keys before what it holds, in order; no
    recursion, so any depth is walked."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            yield where or "body", node, False
        elif isinstance(node, dict):
            key = child_path(where, "<key>")
            yield from ((key, k, True) for k in node)
            below = [(v, child_path(where, k)) for k, v in node.items()]
            stack.extend(reversed(below))
        elif isinstance(node, list):
            stack.extend(reversed([(v, f"{where}[{i}]") for i, v in enumerate(node)]))


def unstorable_text(value: Any, path: str) -> list[str]:
    """Where text no store can keep hides in a decoded JSON value (a NUL character, a lone
    surrogate), each as `where: what` (see `_texts`)."""
    return [
        f"{where}: {what}" for where, text, _ in _texts(value, path) for what in _unstorable(text)
    ]


def credential_names(value: Any, path: str) -> list[str]:
    """Where an object's key in a decoded JSON value reads as a credential (`password=...`, a
    Bearer token): a name is shown as it is, so it would be shown, stored and kept through an
    erasure in the clear. Named by where it is, never quoted."""
    return [
        f"{where}: a field's name reads as a credential (a secret's name given a value, a "
        "token); name the field, and give the value to it"
        for where, text, is_key in _texts(value, path)
        if is_key and reads_as_credential(text)
    ]


def reads_as_credential(text: str) -> bool:
    """Whether masking would change `text` (it is a credential, or holds one)."""
    return is_credential_shaped(text) or scrub_text(text) != text


def unstorable_message(errors: list[str]) -> str:
    """The headline of an answer refusing `errors` of `unstorable_text`."""
    if all(e.endswith(NUL) for e in errors):
        return "Text must not contain NUL characters"
    return "Text must not contain NUL characters or lone surrogates"


def text_errors(text: str, name: str, most: int) -> list[str]:
    """What is wrong with the text a caller gave as `name`, if anything: longer than `most`
    characters, or holding a NUL or a lone surrogate (what an argument that is not UTF-8
    decodes to: no store can keep it)."""
    errors = [f"{name}: {what}" for what in _unstorable(text)]
    if len(text) > most:
        errors.append(f"{name}: at most {most} characters, not {len(text)}")
    return errors


MAX_IDENTITY = 200
# Controls (C0, DEL, C1), lone surrogates (no UTF-8 for them), line or paragraph separators,
# and format characters (bidi overrides, zero-width), which would let one name pass for another
# where the audit trail shows who did what.
_NOT_IN_AN_IDENTITY = frozenset({"Cc", "Cs", "Zl", "Zp", "Cf"})


def identity_errors(identity: str, name: str) -> list[str]:
    """What is wrong with a name that says who acted or whose work it is (a token's subject, a
    worker id, an organisation id), if anything: empty, longer than MAX_IDENTITY, or holding a
    control, format or line-breaking character (an escape sequence, a right-to-left override,
    a newline), or reading as a credential.

    One that reads as a credential (`password=...`, a Bearer token, a JWT) would be shown
    masked wherever it is shown, the read models included: two identities could then show as
    one, and an organisation's own rows as another's. So every identity taken is shown as it
    is."""
    errors = [] if identity.strip() else [f"{name}: empty"]
    if any(unicodedata.category(c) in _NOT_IN_AN_IDENTITY for c in identity):
        errors.append(f"{name}: control, format and line-breaking characters are not allowed")
    if reads_as_credential(identity):
        errors.append(
            f"{name}: reads as a credential (a secret's name given a value, a token), which "
            "would be shown masked"
        )
    if len(identity) > MAX_IDENTITY:
        errors.append(f"{name}: at most {MAX_IDENTITY} characters, not {len(identity)}")
    return errors


MAX_ORGANISATION = MAX_IDENTITY


def organisation_errors(organisation: str, name: str = "organisation") -> list[str]:
    """What is wrong with an organisation id, if anything: the rule of every identity. Every
    call of its jobs carries it as a header (`X-Organisation-ID`) and the audit trail shows it,
    so it is printable text that reads as what it is."""
    return identity_errors(organisation, name)


def hidden_characters(text: str) -> list[str]:
    """The characters of `text` an identity may not hold (controls, format characters such as
    a zero-width space or a bidi override, line and paragraph separators), each once in order,
    as `U+200B`: text that holds one does not read as what it is."""
    hidden = (c for c in text if unicodedata.category(c) in _NOT_IN_AN_IDENTITY)
    return list(dict.fromkeys(f"U+{ord(c):04X}" for c in hidden))


def readable(text: str) -> bool:
    """Whether `text` shows something: a letter, a digit, punctuation or a symbol. Spaces,
    zero-width and bidi-control characters and lone combining marks render as nothing."""
    return any(unicodedata.category(c)[0] in "LNPS" for c in text)


def reason_errors(reason: str | None) -> list[str]:
    """What is wrong with an operator's reason, if anything."""
    return [] if reason is None else text_errors(reason, "reason", MAX_REASON)


def recordable_reason(reason: str, most: int = MAX_REASON) -> str:
    """A reason (or another text sent) as a refusal records it, whatever was sent: no NUL, no
    lone surrogate (each becomes '?'), at most `most` characters (the refusal's errors say
    what was wrong)."""
    kept = reason.replace("\x00", "?")[:most]
    return kept.encode("utf-8", "replace").decode("utf-8")


def json_kind(value: Any) -> str:
    """The JSON type of a decoded value, as errors name it (`object`, `array`, `string`...)."""
    kinds = ((bool, "boolean"), (str, "string"), (int | float, "number"), (Mapping, "object"))
    found = (kind for t, kind in kinds if isinstance(value, t))
    return next(found, "array" if isinstance(value, list) else "null")
