"""The one classifier of secrets and personal data, and the walk that applies it.

Declared types come first (the execution config's schema types its secret and personal
fields); an undeclared field is classified by the words of its name; a value shaped like a
credential, or a payment card's number, is a secret wherever it appears. Everything that
stores, projects, answers, logs or exports asks this module, and nothing else decides what is
secret.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from domain.execution_config import ExecutionConfig
from domain.secret_names import Sensitivity as Sensitivity
from domain.secret_names import is_secret_key as is_secret_key
from domain.secret_names import name_sensitivity as name_sensitivity
from domain.secret_names import name_words as name_words
from domain.secret_names import words_of as words_of
from domain.secret_types import ERASED as ERASED
from domain.secret_types import PersonalText, SecretText
from domain.secret_words import REDACTED as REDACTED
from domain.secret_words import is_card_number, mask_declared_public
from domain.secret_words import is_credential_shaped as is_credential_shaped
from domain.secret_words import mask_credentials as mask_credentials
from domain.secret_words import scrub_text as scrub_text

Declared = Mapping[str, Any]  # field name -> Sensitivity, or a nested Declared


def _unwrap(annotation: Any) -> list[Any]:
    if get_origin(annotation) in (Union, UnionType):
        return [a for a in get_args(annotation) if a is not NoneType]
    return [annotation]


def declared_tree(model: type[BaseModel]) -> dict[str, Any]:
    """The sensitivity each field of `model` declares, nested models as nested trees."""
    tree: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        for kind in _unwrap(info.annotation):
            if isinstance(kind, type) and issubclass(kind, SecretText):
                tree[name] = Sensitivity.SECRET
            elif isinstance(kind, type) and issubclass(kind, PersonalText):
                tree[name] = Sensitivity.PERSONAL
            elif isinstance(kind, type) and issubclass(kind, BaseModel):
                tree[name] = declared_tree(kind)
            else:
                continue
            break
        else:
            tree[name] = None if _open(info.annotation) else Sensitivity.PUBLIC
    return tree


def _open(annotation: Any) -> bool:
    """True for a field typed loosely (a dict, Any): its inner names are not declared."""
    return any(k is Any or get_origin(k) in (dict, list) for k in _unwrap(annotation))


EXECUTION_CONFIG = declared_tree(ExecutionConfig)
# An attempt's W3C ids (in its event, its sub-step's state, a view's row): hex, public.
TRACE_IDS = {"trace_id": Sensitivity.PUBLIC, "span_id": Sensitivity.PUBLIC}
DECLARED_ROOTS: dict[str, Any] = {"execution_config": EXECUTION_CONFIG, **TRACE_IDS}
# The top-level fields of regflow's own events whose names would mislead the vocabulary.
EVENT_FIELDS: dict[str, Any] = {
    **TRACE_IDS,
    "idempotency_key": Sensitivity.PUBLIC,
    "execution_config": EXECUTION_CONFIG,
    # A keyed digest of a request's content: it confirms a guess of what was sent (resent with
    # the same key, a guess is taken or refused), so it is the organisation's, sealed with its
    # key and erased with it.
    "request_digest": Sensitivity.PERSONAL,
}

OnSensitive = Callable[[Sensitivity, Any], Any]
OnText = Callable[[str], str]
PUBLIC, SECRET = Sensitivity.PUBLIC, Sensitivity.SECRET
_SCALARS = frozenset({int, float, bool, type(None)})


def field_sensitivity(name: str, declared: Any) -> Sensitivity:
    """A field's sensitivity: its declared type when it has one, else its name's words."""
    if declared is None:
        return name_sensitivity(name)
    if isinstance(declared, Sensitivity):
        return declared
    if isinstance(declared, Mapping):
        return Sensitivity.PUBLIC
    return name_sensitivity(name)


def _as_it_is(text: str) -> str:
    return text


def transform(
    value: Any,
    on_sensitive: OnSensitive,
    declared: Declared | None = None,
    on_text: OnText = _as_it_is,
    on_public_text: OnText | None = None,
) -> Any:
    """A copy of `value` in which every secret or personal value went through `on_sensitive`
    (empty values and booleans are left as they are: there is nothing to hide in them, and a
    flag such as `has_password: true` tells no secret), every string of a
    field declared public through `on_public_text` (unset: `on_text`), and every other string
    through `on_text`."""
    public_text = on_text if on_public_text is None else on_public_text
    kind_of = type(value)
    if kind_of in _SCALARS:
        return on_sensitive(SECRET, value) if kind_of is int and _is_card(value) else value
    if isinstance(value, str):
        return on_sensitive(SECRET, value) if is_credential_shaped(value) else on_text(value)
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            name = key if type(key) is str else str(key)
            inner = declared.get(name) if declared is not None else DECLARED_ROOTS.get(name)
            kind = field_sensitivity(name, inner)
            if kind is not PUBLIC and item is not None and item != "" and type(item) is not bool:
                out[key] = on_sensitive(kind, item)
            elif type(item) in _SCALARS:
                out[key] = (
                    on_sensitive(SECRET, item) if type(item) is int and _is_card(item) else item
                )
            elif inner is PUBLIC and type(item) is str:
                shaped = is_credential_shaped(item, cards=False)
                out[key] = on_sensitive(SECRET, item) if shaped else public_text(item)
            else:
                inner = None if inner is None or not isinstance(inner, Mapping) else inner
                out[key] = transform(item, on_sensitive, inner, on_text, on_public_text)
        return out
    if isinstance(value, list | tuple):
        return [transform(item, on_sensitive, declared, on_text, on_public_text) for item in value]
    return value


def _is_card(number: int) -> bool:
    """True for a whole number that is a payment card's number (written as JSON's number)."""
    return 10**12 <= number < 10**19 and is_card_number(str(number))


def _mask(kind: Sensitivity, value: Any) -> Any:
    if value == ERASED:
        return ERASED
    return REDACTED if kind is Sensitivity.SECRET else redact(value)


def redact(value: Any, declared: Declared | None = None) -> Any:
    """A copy of `value` as it may be shown wherever it is shown (an answer, a read model, an
    export, a log): every secret replaced by a mask, every free text masked as the log masks
    it (`scrub_text`: credentials, and values given to secret names), personal data kept.
    `declared` says what its fields hold, where the words of their names would mislead: a
    text declared public (a stream ticket's URL, an idempotency key) is not judged by the
    names inside it either, only credentials in it are masked."""
    return transform(value, _mask, declared, scrub_text, mask_declared_public)


def redact_event(data: Any) -> Any:
    """An event's fields with every secret masked (its own bookkeeping fields are declared)."""
    return redact(data, EVENT_FIELDS)


def contains_erased(value: Any) -> bool:
    """True when `value` holds a field whose key was destroyed (its organisation erased)."""
    if isinstance(value, dict):
        return any(contains_erased(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(contains_erased(v) for v in value)
    return bool(value == ERASED)


def contains_sensitive(value: Any) -> bool:
    """True when `value` holds anything secret or personal."""
    found: list[bool] = []
    transform(value, lambda kind, item: found.append(True))
    return bool(found)
