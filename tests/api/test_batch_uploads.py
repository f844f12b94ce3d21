"""Large batches: 10,000 restaurants by JSON or CSV, brief answers, body limits that say so, and
CSV / JSON-lines uploads whose bad rows are all named and create nothing."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from domain.limits import MAX_NESTING, readable
from infrastructure.settings import Settings
from tests.api.conftest import BASE, PASSWORD, Caller, MakeClient, restaurant

CSV = {"Content-Type": "text/csv"}
NDJSON = {"Content-Type": "application/x-ndjson"}
printable_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=6)
# Characters str.splitlines() breaks a line at, other than a line feed and a carriage return.
BREAKS_ONLY_FOR_SPLITLINES = ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e"]
JSON = {"Content-Type": "application/json"}
TEN_THOUSAND = 10_000


def csv_text(header: list[str], rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


async def batch_count(caller: Caller) -> int:
    _, body = await caller.get(BASE, params={"limit": 500})
    return len(body["batches"])


class TestTenThousand:
    async def test_json_batch_of_ten_thousand_is_created_and_read_back(self, org_a: Caller) -> None:
        many = [restaurant(f"R {i}") for i in range(TEN_THOUSAND)]
        payload = json.dumps({"name": "drive", "restaurants": many}).encode()
        status, body = await org_a.post(
            BASE, params={"brief": "1"}, data=io.BytesIO(payload), headers=JSON
        )
        assert status == 201, body
        assert body["batch"]["total"] == TEN_THOUSAND and "jobs" not in body["batch"]
        _, progress = await org_a.get(f"{BASE}/{body['batch']['id']}/progress")
        assert (progress["total"], progress["pending"]) == (TEN_THOUSAND, TEN_THOUSAND)

    @pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
    async def test_csv_batch_of_ten_thousand(self, org_a: Caller) -> None:
        header = ["name", "external_id", "account.email", "account.password", "payment.enabled"]
        rows = [[f"R {i}", f"r-{i}", f"o{i}@example.com", PASSWORD, "FALSE"] for i in range(10_000)]
        upload = io.BytesIO(csv_text(header, rows).encode())
        status, body = await org_a.post(
            BASE, params={"name": "csv drive", "brief": "1"}, data=upload, headers=CSV
        )
        assert status == 201, body
        assert body["batch"]["total"] == TEN_THOUSAND


class TestBodyLimits:
    def test_the_default_batch_limit_holds_ten_thousand_large_restaurants(self) -> None:
        one = len(json.dumps(restaurant("A restaurant with a long enough name " * 3)))
        assert Settings(_env_file=None).max_batch_bytes > 2 * TEN_THOUSAND * one

    async def test_a_batch_over_its_limit_is_413_naming_limit_and_setting(
        self, aiohttp_client: MakeClient, api_settings: Settings
    ) -> None:
        small = api_settings.model_copy(update={"max_batch_bytes": 1_500_000})
        org, key = (small.api_keys or "").split(",")[0].split(":", 1)
        caller = Caller(await aiohttp_client(create_app(small)), org, key)
        many = [restaurant(f"R {i}") for i in range(5_000)]
        payload = json.dumps({"name": "too big", "restaurants": many}).encode()
        status, body = await caller.post(BASE, data=io.BytesIO(payload), headers=JSON)
        assert status == 413
        assert "REGFLOW_MAX_BATCH_BYTES" in body["message"] and "1,500,000" in body["message"]

    async def test_other_bodies_keep_the_small_limit_and_name_it(self, org_a: Caller) -> None:
        job = (await org_a.new_batch())["jobs"][0]["id"]
        big = json.dumps({"reason": "x" * (2 * 1024 * 1024)}).encode()
        status, body = await org_a.post(
            f"{BASE}/jobs/{job}/cancel", data=io.BytesIO(big), headers=JSON
        )
        assert status == 413
        assert "REGFLOW_MAX_BODY_BYTES" in body["message"]


class TestCsvUpload:
    async def test_dotted_and_json_columns_build_the_config(self, org_a: Caller) -> None:
        header = ["name", "external_id", "execution_config", "account.email", "menu.menu_id"]
        config = json.dumps({"account": {"password": PASSWORD}, "skip": ["itemTags"]})
        text = csv_text(header, [["Buzz, Ltd", "r-1", config, "o@example.com", "m-9"]], ";")
        status, body = await org_a.post(
            BASE, params={"name": "sheet"}, data=("\ufeff" + text).encode(), headers=CSV
        )
        assert status == 201, body
        job_id = body["batch"]["jobs"][0]["id"]
        assert body["batch"]["jobs"][0]["restaurant"] == {"name": "Buzz, Ltd", "external_id": "r-1"}
        _, job = await org_a.get(f"{BASE}/jobs/{job_id}")
        assert PASSWORD not in json.dumps(job)

    async def test_bad_rows_are_all_named_and_nothing_is_created(self, org_a: Caller) -> None:
        before = await batch_count(org_a)
        header = ["name", "account.email", "skip"]
        rows = [["Good", "a@example.com", ""], ["", "b@example.com", ""], ["Bad", "nope", ""]]
        rows.append(["Odd", "c@example.com", '["noSuchStep"]', "extra cell"])
        status, body = await org_a.post(
            BASE, params={"name": "sheet"}, data=csv_text(header, rows), headers=CSV
        )
        assert status == 422
        text = "\n".join(body["errors"])
        assert "row 5:" in text
        assert await batch_count(org_a) == before

    async def test_every_bad_row_is_reported_not_only_the_first(self, org_a: Caller) -> None:
        rows = [["R", "not-an-email"]] * 3
        status, body = await org_a.post(
            BASE, params={"name": "s"}, data=csv_text(["name", "account.email"], rows), headers=CSV
        )
        assert status == 422
        assert all(any(e.startswith(f"row {n}: ") for e in body["errors"]) for n in (2, 3, 4))

    async def test_an_upload_needs_a_name(self, org_a: Caller) -> None:
        status, body = await org_a.post(BASE, data="name\nBuzz\n", headers=CSV)
        assert status == 422 and any("?name=" in e for e in body["errors"])

    async def test_a_header_without_name_is_refused(self, org_a: Caller) -> None:
        status, body = await org_a.post(
            BASE, params={"name": "s"}, data="title\nBuzz\n", headers=CSV
        )
        assert status == 422 and body["errors"] == ["row 1: no name"]

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        names=st.lists(
            st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=40)
            .map(str.strip)
            .filter(readable),  # a name that shows nothing is refused
            min_size=1,
            max_size=5,
        )
    )
    async def test_any_names_survive_a_spreadsheet_round_trip(
        self, org_a: Caller, names: list[str]
    ) -> None:
        text = csv_text(["name"], [[n] for n in names])
        status, body = await org_a.post(BASE, params={"name": "s"}, data=text.encode(), headers=CSV)
        assert status == 201, body
        assert [j["restaurant"]["name"] for j in body["batch"]["jobs"]] == names


class TestJsonLinesUpload:
    async def test_each_line_is_a_restaurant(self, org_a: Caller) -> None:
        lines = "\n".join(json.dumps(restaurant(n)) for n in ("A", "B")) + "\n\n"
        status, body = await org_a.post(BASE, params={"name": "nd"}, data=lines, headers=NDJSON)
        assert status == 201, body
        assert [j["restaurant"]["name"] for j in body["batch"]["jobs"]] == ["A", "B"]

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        names=st.lists(
            st.tuples(st.sampled_from(BREAKS_ONLY_FOR_SPLITLINES), printable_text).map(
                lambda parts: f"Cafe{parts[0]}{parts[1]}"
            ),
            min_size=1,
            max_size=4,
        ),
        ending=st.sampled_from(["\n", "\r\n"]),
    )
    async def test_a_line_ends_only_at_a_line_feed(
        self, org_a: Caller, names: list[str], ending: str
    ) -> None:
        """A name holding U+2028, U+0085 or another character str.splitlines() breaks at was
        cut in two, each half refused as not JSON, on a line the sender never sent."""
        lines = ending.join(json.dumps(restaurant(n), ensure_ascii=False) for n in names)
        status, body = await org_a.post(
            BASE, params={"name": "nd"}, data=lines.encode(), headers=NDJSON
        )
        assert status == 201, body
        assert [j["restaurant"]["name"] for j in body["batch"]["jobs"]] == names

    async def test_bad_lines_are_named_and_nothing_is_created(self, org_a: Caller) -> None:
        before = await batch_count(org_a)
        lines = "\n".join([json.dumps(restaurant("A")), "{oops", "[1]", json.dumps({"x": 1})])
        status, body = await org_a.post(BASE, params={"name": "nd"}, data=lines, headers=NDJSON)
        assert status == 422
        assert body["errors"] == ["line 2: not valid JSON", "line 3: not a JSON object"]
        assert await batch_count(org_a) == before

    async def test_a_bad_field_is_named_by_its_line_and_path(self, org_a: Caller) -> None:
        before = await batch_count(org_a)
        deep: Any = "x"
        for _ in range(MAX_NESTING + 1):
            deep = {"x": deep}
        bad_config = restaurant("B") | {"execution_config": {"skip": ["noSuchStep"]}}
        lines = [restaurant("A"), bad_config, restaurant("C") | {"notes": deep}]
        text = "\n".join(json.dumps(line) for line in lines)
        status, body = await org_a.post(BASE, params={"name": "nd"}, data=text, headers=NDJSON)
        assert status == 422
        first, second = body["errors"]
        assert first.startswith("line 2: execution_config.skip: "), first
        assert second == f"line 3: restaurant: nested deeper than {MAX_NESTING} levels"
        assert await batch_count(org_a) == before


def titled(column: str) -> st.SearchStrategy[str]:
    """`column` as a spreadsheet might title it: any case, gaps as spaces or hyphens, padded."""
    parts = column.split("_")
    return st.tuples(
        st.lists(st.booleans(), min_size=len(column), max_size=len(column)),
        st.sampled_from(["_", " ", "-", "  "]),
        st.sampled_from(["", " "]),
    ).map(
        lambda t: (
            t[2]
            + t[1].join(
                "".join(c.upper() if up else c for c, up in zip(part, t[0], strict=False))
                for part in parts
            )
            + t[2]
        )
    )


class TestSpreadsheetTitles:
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(name=titled("name"), external_id=titled("external_id"))
    async def test_known_columns_are_found_whatever_their_case_and_gaps(
        self, org_a: Caller, name: str, external_id: str
    ) -> None:
        text = csv_text([name, external_id, "Region"], [["Buzz", "r-1", "North"]])
        status, body = await org_a.post(BASE, params={"name": "s"}, data=text.encode(), headers=CSV)
        assert status == 201, body
        kept = body["batch"]["jobs"][0]["restaurant"]
        assert kept == {"name": "Buzz", "external_id": "r-1", "Region": "North"}

    async def test_a_column_titled_twice_in_two_cases_is_refused(self, org_a: Caller) -> None:
        before = await batch_count(org_a)
        text = csv_text(["Name", "name"], [["A", "B"]])
        status, body = await org_a.post(BASE, params={"name": "s"}, data=text.encode(), headers=CSV)
        assert status == 422 and body["errors"] == ["row 1: name"], body
        assert await batch_count(org_a) == before
