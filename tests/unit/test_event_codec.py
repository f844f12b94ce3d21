"""The store's event reading (orjson transcoder, cached cipher) gives what the library's does.

Events are written by the library's encoder and cipher; these tests try to find stored text
or ciphertext that the faster readers read differently from the library's readers: arbitrary
JSON documents, numbers orjson reads with less precision, text orjson refuses, objects that
look like the library's typed envelopes, and damaged input.
"""

from __future__ import annotations

import base64
import os
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.cryptography import AESCipher
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from eventsourcing.utils import Environment
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.job_state import SubStepState
from infrastructure.keys.store_cipher import StoreCipher
from infrastructure.transcoder import FastJSONTranscoder
from infrastructure.usecases.snapshots import SNAPSHOT_TRANSCODINGS


def transcoders() -> tuple[JSONTranscoder, FastJSONTranscoder]:
    library, fast = JSONTranscoder(), FastJSONTranscoder()
    for transcoder in (library, fast):
        for transcoding in (UUIDAsHex, DecimalAsStr, DatetimeAsISO, *SNAPSHOT_TRANSCODINGS):
            transcoder.register(transcoding())
    return library, fast


LIBRARY, FAST = transcoders()


def read_by(transcoder: JSONTranscoder, data: bytes) -> tuple[str, Any]:
    """What `transcoder` reads from `data`: ("ok", repr) or ("raised", exception type)."""
    try:
        return "ok", repr(transcoder.decode(data))
    except Exception as exc:  # every failure must be the library's failure
        return "raised", type(exc)


def same_reading(data: bytes) -> None:
    assert read_by(FAST, data) == read_by(LIBRARY, data)


numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**64 - 1, 2**64, 10**19]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([9.3e18, -9.3e18, 1e308, 5e-324, -0.0, 2.0**63, 2.0**64]),
)
texts = st.one_of(
    st.text(),
    st.sampled_from(["_type_", "_data_", "\u2028", "\x00", "\ud800", "9" * 40, "\\u0000"]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
typed = st.one_of(
    st.datetimes(timezones=st.just(UTC)),
    st.uuids(),
    st.decimals(allow_nan=False),
    st.builds(SubStepState, status=st.text(), attempts=st.integers(min_value=0)),
    st.frozensets(st.text(), max_size=3),
)


def documents(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(texts, inner, max_size=4),
            st.fixed_dictionaries({"_type_": inner, "_data_": inner}),
            st.fixed_dictionaries(
                {"_type_": st.sampled_from(list(LIBRARY.names)), "_data_": inner}
            ),
        ),
        max_leaves=20,
    )


@settings(max_examples=400, deadline=None)
@given(documents(st.one_of(scalars, typed)))
def test_anything_the_library_encodes_reads_the_same(document: Any) -> None:
    try:
        data = LIBRARY.encode(document)
    except (UnicodeEncodeError, ValueError):
        return  # the library cannot store it, so nothing reads it
    same_reading(data)


@settings(max_examples=300, deadline=None)
@given(documents(scalars))
def test_any_json_text_reads_the_same(document: Any) -> None:
    import json

    text = json.dumps(document, ensure_ascii=False, allow_nan=True)
    same_reading(text.encode("utf8", "surrogatepass"))
    same_reading(json.dumps(document, allow_nan=True).encode())


@pytest.mark.parametrize(
    "data",
    [
        b'{"a":123456789012345678901234567890}',
        b'{"a":-9223372036854775809}',
        b'{"a":18446744073709551616}',
        b"[18446744073709551615,-9223372036854775808]",
        b'{"a":1e400,"b":-Infinity,"c":NaN}',
        b'{"a":"\\ud800"}',
        b'{"_type_":"nobody","_data_":1}',
        b'{"_type_":["x"],"_data_":1}',
        b'{"_type_":"uuid_hex","_data_":"not a uuid"}',
        b'{"_type_":"datetime_iso","_data_":3}',
        b'{"a":1,"a":2}',
        b"[" * 2000 + b"]" * 2000,
        b"\xff\xfe",
        b"",
        b"12 ",
        b'"text"',
    ],
)
def test_hostile_text_reads_the_same(data: bytes) -> None:
    same_reading(data)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_read_the_same(data: bytes) -> None:
    same_reading(data)


def test_an_event_state_reads_to_equal_objects() -> None:
    state = {
        "timestamp": datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        "batch_id": UUID(int=7),
        "amount": Decimal("1.10"),
        "sub_steps": {"a": SubStepState(status="failed", result={"at": datetime.now(UTC)})},
        "done": frozenset({"a", "b"}),
    }
    data = LIBRARY.encode(state)
    assert FAST.decode(data) == LIBRARY.decode(data) == state


def ciphers() -> tuple[AESCipher, StoreCipher]:
    env = Environment(env={"CIPHER_KEY": base64.b64encode(os.urandom(32)).decode()})
    return AESCipher(env), StoreCipher(env)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=512))
def test_the_cipher_reads_and_writes_the_librarys_layout(plain: bytes) -> None:
    library, store = ciphers()
    assert store.decrypt(library.encrypt(plain)) == plain
    assert library.decrypt(store.encrypt(plain)) == plain


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=80), st.integers(min_value=0, max_value=79))
def test_damaged_ciphertext_fails_as_the_library_fails(plain: bytes, flip: int) -> None:
    library, store = ciphers()
    sealed = bytearray(library.encrypt(plain))
    sealed[flip % len(sealed)] ^= 1
    for damaged in (bytes(sealed), bytes(sealed[: flip % 30])):
        outcomes = []
        for cipher in (library, store):
            try:
                outcomes.append(("ok", cipher.decrypt(damaged)))
            except Exception as exc:
                outcomes.append(("raised", (type(exc), str(exc))))
        assert outcomes[0] == outcomes[1]
        assert outcomes[0][0] == "raised"
