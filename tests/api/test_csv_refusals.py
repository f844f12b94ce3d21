"""A CSV upload that cannot be read as written is refused with a 4xx that names the problem and
creates nothing: a path deeper than a config nests, an empty upload, a path with an empty part,
a header cell hiding characters, a row whose cells do not match the header. Nothing a sheet
holds gives a 500, and a switch's cell reads as README says."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.errors import BadRequest
from api.uploads import KNOWN_COLUMNS, batch_input, from_csv
from domain.exceptions import InvalidInput
from domain.limits import MAX_NESTING
from infrastructure.usecases.batches import validated_restaurant
from tests.api.conftest import BASE, PASSWORD, Caller
from tests.api.test_batch_uploads import CSV, batch_count, csv_text

HTTP = settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
KEYS = st.from_regex(r"[a-z][a-z_]{0,5}", fullmatch=True)


def refusal(text: str | bytes) -> InvalidInput | BadRequest:
    raw = text.encode() if isinstance(text, str) else text
    with pytest.raises((InvalidInput, BadRequest)) as refused:
        batch_input("text/csv", raw, "sheet")
    assert isinstance(refused.value, InvalidInput | BadRequest)
    return refused.value


async def upload(caller: Caller, text: str | bytes, **headers: str) -> tuple[int, Any]:
    return await caller.post(BASE, params={"name": "sheet"}, data=text, headers=CSV | headers)


class TestDeepPaths:
    @settings(max_examples=60, deadline=None)
    @given(parts=st.integers(1, 2000), prefixed=st.booleans())
    def test_a_path_deeper_than_a_config_nests_is_refused_naming_its_column(
        self, parts: int, prefixed: bool
    ) -> None:
        column = ".".join((["execution_config"] if prefixed else []) + ["a"] * parts)
        text = csv_text(["name", "external_id", column], [["R", "r-1", "x"]])
        if parts <= MAX_NESTING:
            batch_input("text/csv", text.encode(), "sheet")
            return
        refused = refusal(text)
        assert "deeper than a config may nest" in refused.message
        assert refused.errors == [
            f"row 1: column 3 ({column[:60]}...): {parts} parts; a config nests at most "
            f"{MAX_NESTING} levels"
        ]

    @HTTP
    @given(parts=st.integers(1, 2000), cell_depth=st.integers(0, 3000))
    async def test_no_path_or_cell_depth_gives_a_500(
        self, org_a: Caller, parts: int, cell_depth: int
    ) -> None:
        before = await batch_count(org_a)
        cell = "[" * cell_depth + "1" + "]" * cell_depth
        header = ["name", ".".join(["a"] * parts), "execution_config"]
        config = json.dumps({"extra": "x"})[:-1] + f', "deep": {cell}}}'
        status, body = await upload(org_a, csv_text(header, [["R", cell, config]]))
        assert status in (201, 422), body
        if status == 422:
            assert await batch_count(org_a) == before
        if parts > MAX_NESTING:
            assert body["errors"][0].startswith("row 1: column 2 (a.a.a"), body

    @pytest.mark.parametrize("depth", [MAX_NESTING + 1, 500, 900, 5000])
    @pytest.mark.parametrize("column", ["extra.deep", "execution_config", "ndjson"])
    async def test_a_deep_json_cell_is_refused_not_a_500(
        self, org_a: Caller, depth: int, column: str
    ) -> None:
        before = await batch_count(org_a)
        deep = "[" * depth + "1" + "]" * depth
        if column == "ndjson":
            line = '{"name": "R", "execution_config": {"extra": ' + deep + "}}\n"
            ndjson = {"Content-Type": "application/x-ndjson"}
            status, body = await upload(org_a, line, **ndjson)
        else:
            cell = deep if column != "execution_config" else '{"extra": ' + deep + "}"
            status, body = await upload(org_a, csv_text(["name", column], [["R", cell]]))
        if depth > 1000 and column == "extra.deep":  # past what JSON reads: kept as its text
            assert status == 201, body
            return
        assert status == 422, body
        assert await batch_count(org_a) == before

    async def test_the_deepest_path_a_config_takes_is_accepted_over_http(
        self, org_a: Caller
    ) -> None:
        column = ".".join(["extra"] * MAX_NESTING)
        status, body = await upload(org_a, csv_text(["name", column], [["R", "x"]]))
        assert status == 201, body


class TestEmptyUploads:
    @pytest.mark.parametrize("raw", [b"", b"\n", b" \r\n\r\n", b"\xef\xbb\xbf", b"\xef\xbb\xbf\n"])
    @pytest.mark.parametrize("named", [True, False])
    async def test_an_empty_csv_is_said_to_be_empty(
        self, org_a: Caller, raw: bytes, named: bool
    ) -> None:
        before = await batch_count(org_a)
        params = {"name": "sheet"} if named else {}
        status, body = await org_a.post(BASE, params=params, data=raw, headers=CSV)
        assert status == 400, body
        assert "empty" in body["message"] and "CSV" in body["message"], body
        assert "JSON body is required" not in body["message"]
        assert await batch_count(org_a) == before


class TestEmptyParts:
    @given(
        path=st.lists(KEYS, min_size=1, max_size=4),
        at=st.integers(0, 4),
        blank=st.sampled_from(["", " ", "  "]),
        prefixed=st.booleans(),
        others=st.lists(KEYS, max_size=2, unique=True),
    )
    def test_a_path_with_an_empty_part_is_refused_as_such(
        self, path: list[str], at: int, blank: str, prefixed: bool, others: list[str]
    ) -> None:
        parts = [*path]
        parts.insert(min(at, len(parts)), blank)
        column = ".".join((["execution_config"] if prefixed else []) + parts)
        header = ["name", *(o for o in others if o != "name"), column]
        refused = refusal(csv_text(header, [["R"] + ["x"] * (len(header) - 1)]))
        assert refused.message == "The CSV header has a dotted column with an empty part"
        assert len(refused.errors) == 1
        error = refused.errors[0]
        assert error.startswith(f"row 1: column {len(header)} (") and "an empty part" in error

    async def test_over_http_the_reason_is_the_empty_part(self, org_a: Caller) -> None:
        before = await batch_count(org_a)
        for column in (".account", "account.", "account..email", "execution_config."):
            status, body = await upload(org_a, csv_text(["name", column], [["R", "x"]]))
            assert status == 422 and "two columns" not in body["message"], body
            assert body["errors"] == [
                f"row 1: column 2 ({column}): an empty part; a dotted column is a path "
                "(`account.email`)"
            ]
        assert await batch_count(org_a) == before


HIDDEN = st.characters(categories=["Cc", "Cf", "Zl", "Zp"], exclude_characters="\x00")
SHOWN_NOT = ("Cc", "Cf", "Cs", "Zl", "Zp")
TITLES = st.sampled_from(["name", "Region", "account.email", "external_id", "payment.enabled"])


def hide(title: str, at: int, char: str) -> str:
    return title[:at] + char + title[at:]


class TestHiddenCharacters:
    @given(title=TITLES, at=st.integers(1, 20), char=HIDDEN)
    def test_a_title_hiding_a_character_is_refused_naming_its_position(
        self, title: str, at: int, char: str
    ) -> None:
        at = min(at, len(title) - 1)
        if "." in title[at - 1 : at + 1] and char.isspace():
            at = 1  # blanks around a path's dot are trimmed, as documented
        header = ["Notes" if title == "name" else "name", hide(title, at, char)]
        refused = refusal(csv_text(header, [["x", "y"]]))
        assert refused.message == "The CSV header has titles that cannot be read as written"
        code = f"U+{ord(char):04X}"
        assert refused.errors == [
            f"row 1: column 2 ({hide(title, at, f'<{code}>')}): holds characters "
            f"that do not show ({code})"
        ]

    @given(title=TITLES, char=HIDDEN.filter(lambda c: not c.isspace()), end=st.booleans())
    def test_an_invisible_character_at_a_titles_end_is_refused_too(
        self, title: str, char: str, end: bool
    ) -> None:
        hidden = title + char if end else char + title
        header = ["Notes" if title == "name" else "name", hidden]  # a U+FEFF first is a BOM
        refused = refusal(csv_text(header, [["x", "y"]]))
        assert refused.errors[0].startswith("row 1: column 2 (")

    @given(marks=st.text(st.characters(categories=["Mn", "Me"]), min_size=1, max_size=4))
    def test_a_title_that_shows_nothing_is_refused(self, marks: str) -> None:
        refused = refusal(csv_text(["name", f"account.{marks}"], [["R", "x"]]))
        assert refused.errors[0].startswith("row 1: column 2 (")
        assert refused.errors[0].endswith(": a title that shows nothing")

    @given(
        header=st.lists(st.sampled_from(["Notes", "Phone", "account.email"]), unique=True),
        at=st.integers(0, 3),
        blank=st.text(st.sampled_from(" \u3000\u00a0"), max_size=3),  # a tab would be a separator
    )
    def test_a_blank_title_is_refused_by_its_position(
        self, header: list[str], at: int, blank: str
    ) -> None:
        titles = ["name", *header]
        position = min(at, len(titles) - 1) + 1
        titles.insert(position, blank)
        refused = refusal(csv_text(titles, [["R"] + ["x"] * (len(titles) - 1)]))
        assert refused.errors == [f"row 1: column {position + 1} (): a title that shows nothing"], (
            refused.errors
        )

    async def test_a_zero_width_space_makes_no_hidden_key(self, org_a: Caller) -> None:
        before = await batch_count(org_a)
        status, body = await upload(
            org_a, csv_text(["name", "acc\u200bount.email"], [["R", "o@example.com"]])
        )
        assert status == 422, body
        assert body["errors"] == [
            "row 1: column 2 (acc<U+200B>ount.email): holds characters that do not show (U+200B)"
        ]
        assert await batch_count(org_a) == before

    @given(
        title=st.text(st.characters(exclude_characters=".;,"), min_size=1, max_size=12)
        .map(str.strip)
        .filter(lambda t: not any(unicodedata.category(c) in SHOWN_NOT for c in t))
        .filter(lambda t: any(unicodedata.category(c)[0] in "LNPS" for c in t))
        .filter(lambda t: re.sub(r"[\s-]+", "_", t.casefold()) not in KNOWN_COLUMNS)
    )
    def test_a_readable_title_is_kept_as_written(self, title: str) -> None:
        [kept], _ = from_csv(csv_text(["name", title], [["R", "x"]]).encode())
        assert kept == {"name": "R", title: "x"}


class TestCellCounts:
    @given(columns=st.integers(1, 6), cells=st.integers(1, 8), row=st.integers(0, 3))
    def test_a_row_whose_cells_do_not_match_the_header_is_refused_naming_it(
        self, columns: int, cells: int, row: int
    ) -> None:
        header = ["name", *(f"c{i}" for i in range(1, columns))]
        rows = [["R"] * columns for _ in range(4)]
        rows[row] = ["R"] * cells
        text = csv_text(header, rows)
        if cells == columns:
            assert len(from_csv(text.encode())[0]) == 4
            return
        with pytest.raises(InvalidInput) as refused:
            from_csv(text.encode())
        assert refused.value.errors == [f"row {row + 2}: {cells} cells but {columns} columns"]

    async def test_a_short_row_creates_nothing(self, org_a: Caller) -> None:
        before = await batch_count(org_a)
        header = ["name", "account.email", "account.password"]
        text = csv_text(header, [["A", "a@example.com", PASSWORD], ["B", "b@example.com"]])
        status, body = await upload(org_a, text)
        assert (status, body["errors"]) == (422, ["row 3: 2 cells but 3 columns"]), body
        assert await batch_count(org_a) == before


class TestCharset:
    @pytest.mark.parametrize("charset", ["latin-1", "windows-1252", "utf-16"])
    @pytest.mark.parametrize("text", ["name\nCaf\u00e9\n", "name\nBuzz\n"])
    async def test_a_charset_other_than_utf8_is_refused_saying_it_is_read_as_utf8(
        self, org_a: Caller, charset: str, text: str
    ) -> None:
        """Whatever the bytes (an ASCII body reads the same in UTF-8): a declared charset the
        upload is not read in is refused, not ignored."""
        before = await batch_count(org_a)
        raw = text.encode(charset)
        status, body = await upload(org_a, raw, **{"Content-Type": f"text/csv; charset={charset}"})
        assert status == 415, body
        assert "read as UTF-8" in " ".join(body["errors"]), body
        assert await batch_count(org_a) == before

    @pytest.mark.parametrize(
        "charsets", ["utf-8; charset=latin1", "latin1; charset=utf-8", "utf-8; charset=utf-8"]
    )
    async def test_a_charset_named_twice_is_refused(self, org_a: Caller, charsets: str) -> None:
        """Only one of them would be read, whichever the server's parser keeps."""
        before = await batch_count(org_a)
        raw = "name\nCaf\u00e9\n".encode()
        status, body = await upload(org_a, raw, **{"Content-Type": f"text/csv; charset={charsets}"})
        assert status == 415, body
        assert "charset named more than once" in " ".join(body["errors"]), body
        assert await batch_count(org_a) == before

    async def test_bytes_that_are_not_utf8_under_no_charset_are_refused(
        self, org_a: Caller
    ) -> None:
        before = await batch_count(org_a)
        status, body = await upload(org_a, "name\nCaf\u00e9\n".encode("latin-1"))
        assert status == 422, body
        assert "read as UTF-8" in body["message"], body
        assert await batch_count(org_a) == before


TRUE_WORDS = ["true", "yes", "y", "on", "t", "1"]
FALSE_WORDS = ["false", "no", "n", "off", "f", "0"]


def any_case(word: str) -> st.SearchStrategy[str]:
    flips = st.lists(st.booleans(), min_size=len(word), max_size=len(word))
    return flips.map(
        lambda up: "".join(c.upper() if u else c for c, u in zip(word, up, strict=True))
    )


class TestSwitches:
    @HTTP
    @given(
        word=st.sampled_from(TRUE_WORDS + FALSE_WORDS).flatmap(any_case),
        pad=st.sampled_from(["", " "]),
    )
    async def test_a_switchs_cell_reads_as_documented(
        self, org_a: Caller, word: str, pad: str
    ) -> None:
        text = csv_text(["name", "payment.enabled"], [["R", pad + word + pad]])
        status, body = await upload(org_a, text)
        assert status == 201, body
        job = body["batch"]["jobs"][0]["id"]
        _, events = await org_a.get(f"{BASE}/jobs/{job}/events")
        config = events["events"][0]["data"]["execution_config"]
        assert config["payment"]["enabled"] is (word.lower() in TRUE_WORDS)

    @given(
        word=st.text(st.characters(categories=["L", "N"]), min_size=1, max_size=6).filter(
            lambda w: w.lower() not in TRUE_WORDS + FALSE_WORDS
        )
    )
    def test_any_other_cell_is_refused_naming_row_and_field(self, word: str) -> None:
        text = csv_text(["name", "payment.enabled"], [["R", word]])
        [restaurant], _ = from_csv(text.encode())
        with pytest.raises(InvalidInput) as refused:
            validated_restaurant(restaurant, "row 2: ")
        assert refused.value.errors[0].startswith("row 2: execution_config.payment.enabled: ")
