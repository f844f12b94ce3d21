"""Bodies are read one way, strictly, on every route that takes one: a number that is not finite
or a key given twice anywhere is refused naming where, not stored as null or read as the last
value; a body sent as anything but JSON (or, for a batch, an upload type) is 415; a boolean is a
JSON boolean; a batch names each external id once. Each refusal records nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.cli.batch import read_batch
from api.errors import BadRequest
from domain.exceptions import InvalidInput
from domain.field_paths import field_path
from infrastructure.usecases.batches import validated_restaurants
from tests.api.conftest import BASE, Caller, Client, restaurant, run_job

BAD = f"bad-{uuid.uuid4().hex}"
"""A string put where the bad text goes; its quoted form is replaced in the dumped body."""

NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1E400", "2.5e308", "-9e99999"]
NOT_FINITE = "not a finite number"
REPEATED = "key given more than once"
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))

# Any key: any text a JSON object may hold (lone surrogates aside, which no client can encode).
KEYS = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
Step = str | int
Where = list[Step]


def sub_steps(job_id: str) -> str:
    return f"{BASE}/jobs/{job_id}/steps/6/sub-steps"


@st.composite
def nested(draw: st.DrawFn, min_depth: int = 0) -> tuple[Any, Where]:
    """A JSON value holding BAD somewhere: objects of arbitrary keys and lists, the bad place
    among siblings; and the steps from the value down to it."""
    steps = draw(st.lists(st.one_of(KEYS, st.integers(0, 3)), min_size=min_depth, max_size=8))
    value: Any = BAD
    for step in reversed(steps):
        if isinstance(step, int):
            fillers = draw(st.lists(st.integers(-5, 5) | st.text(max_size=3), max_size=3))
            value = [*([0] * step), value, *fillers]
        else:
            siblings = draw(st.dictionaries(KEYS, st.integers() | st.booleans(), max_size=3))
            siblings.pop(step, None)
            value = siblings | {step: value}
    return value, steps


def dumped(body: Any, bad_text: str) -> bytes:
    """`body` as JSON with its BAD string replaced by `bad_text` (JSON no encoder writes)."""
    text = json.dumps(body)
    assert text.count(json.dumps(BAD)) == 1
    return text.replace(json.dumps(BAD), bad_text).encode()


def repeated_object(key: str) -> str:
    """An object that names `key` twice, with two different values."""
    return "{" + f"{json.dumps(key)}: 1, {json.dumps(key)}: 2" + "}"


@st.composite
def spoiled_batches(draw: st.DrawFn) -> tuple[dict[str, Any], Where]:
    """A valid batch of three restaurants but for BAD, put under an arbitrary key at an
    arbitrary depth of the body, of one restaurant, or of a restaurant's execution_config; and
    where it is. (Whatever the key replaces, the spoiling is what must be refused.)"""
    body: dict[str, Any] = {
        "name": "strict",
        "restaurants": [restaurant(f"R{i}") for i in range(3)],
    }
    i = draw(st.integers(0, 2))
    prefix: Where = draw(
        st.sampled_from([[], ["restaurants", i], ["restaurants", i, "execution_config"]])
    )
    key, (value, steps) = draw(KEYS), draw(nested())
    holder: Any = body
    for step in prefix:
        holder = holder[step]
    holder[key] = value
    return body, [*prefix, key, *steps]


async def batch_ids(caller: Caller) -> list[str]:
    _, body = await caller.get(BASE, params={"limit": "500"})
    return [b["id"] for b in body["batches"]]


async def events_of(caller: Caller, job_id: str) -> list[dict[str, Any]]:
    _, body = await caller.get(f"{BASE}/jobs/{job_id}/events", params={"limit": "1000"})
    return list(body["events"])


@pytest.fixture
async def editable_job(org_a: Caller, client: Client) -> str:
    """A stopped job whose failed menuImport may be marked completed with a result."""
    job_id = await org_a.started_job()
    run_job(client, job_id, failing={"menuImport"})
    return job_id


def edit_body(kind: str, result: Any) -> tuple[str, dict[str, Any], Where]:
    """A single or bulk PATCH marking menuImport completed with `result`: the path after the
    job's sub-steps, the body, and where the result sits in it."""
    edit = {"status": "completed", "reason": "by hand", "result": result}
    if kind == "single":
        return "/menuImport", edit, ["result"]
    return "", {"updates": [edit | {"sub_step": "menuImport"}]}, ["updates", 0, "result"]


async def upload(caller: Caller, name: str, text: str, content_type: str) -> tuple[int, Any]:
    """A batch uploaded as `content_type` (CSV or JSON lines), named `name`."""
    return await caller.post(
        BASE, params={"name": name}, data=text.encode(), headers={"Content-Type": content_type}
    )


class TestSanity:
    """The bodies the properties spoil are accepted as they are: a refusal is for the spoiling."""

    async def test_a_finite_number_where_the_bad_ones_go_is_accepted(self, org_a: Caller) -> None:
        body = {"name": "n", "restaurants": [restaurant(extra={"n": BAD})]}
        status, answer = await org_a.post(
            BASE, data=dumped(body, "1.5e300"), headers={"Content-Type": "application/json"}
        )
        assert status == 201, answer

    @pytest.mark.parametrize("kind", ["single", "bulk"])
    async def test_an_edit_with_a_nested_result_is_recorded(
        self, org_a: Caller, editable_job: str, kind: str
    ) -> None:
        before = await events_of(org_a, editable_job)
        suffix, body, _ = edit_body(kind, {"a": [{"b": BAD}], "c": 2})
        status, answer = await org_a.patch(
            sub_steps(editable_job) + suffix,
            data=dumped(body, "-2.5"),
            headers={"Content-Type": "application/json"},
        )
        assert status == 200, answer
        assert len(await events_of(org_a, editable_job)) > len(before)


class TestNonFiniteNumbers:
    @SETTINGS
    @given(case=spoiled_batches(), bad=st.sampled_from(NON_FINITE))
    async def test_anywhere_in_a_batch_is_400_naming_it_and_makes_nothing(
        self, org_a: Caller, case: tuple[dict[str, Any], Where], bad: str
    ) -> None:
        body, where = case
        before = await batch_ids(org_a)
        status, answer = await org_a.post(
            BASE, data=dumped(body, bad), headers={"Content-Type": "application/json"}
        )
        assert (status, answer["errors"]) == (400, [f"{field_path(where)}: {NOT_FINITE}"])
        assert answer["success"] is False and "finite" in answer["message"]
        assert await batch_ids(org_a) == before

    @SETTINGS
    @given(
        kind=st.sampled_from(["single", "bulk"]),
        key=KEYS,
        case=nested(),
        bad=st.sampled_from(NON_FINITE),
        dry_run=st.booleans(),
    )
    async def test_anywhere_in_an_edit_is_400_naming_it_and_records_nothing(
        self,
        org_a: Caller,
        editable_job: str,
        kind: str,
        key: str,
        case: tuple[Any, Where],
        bad: str,
        dry_run: bool,
    ) -> None:
        value, steps = case
        suffix, body, where = edit_body(kind, {key: value})
        before = await events_of(org_a, editable_job)
        status, answer = await org_a.patch(
            sub_steps(editable_job) + suffix,
            data=dumped(body | {"dry_run": dry_run}, bad),
            headers={"Content-Type": "application/json"},
        )
        expected = f"{field_path([*where, key, *steps])}: {NOT_FINITE}"
        assert (status, answer["errors"]) == (400, [expected])
        assert await events_of(org_a, editable_job) == before

    @pytest.mark.parametrize("bad", NON_FINITE)
    async def test_the_whole_body_or_a_top_field(self, org_a: Caller, editable_job: str, bad: str):
        path = f"{sub_steps(editable_job)}/menuImport/reset"
        json_type = {"Content-Type": "application/json"}
        status, answer = await org_a.post(path, data=bad.encode(), headers=json_type)
        assert (status, answer["errors"]) == (400, [f"body: {NOT_FINITE}"])
        body = dumped({"reason": "r", "dry_run": BAD}, bad)
        status, answer = await org_a.post(path, data=body, headers=json_type)
        assert (status, answer["errors"]) == (400, [f"dry_run: {NOT_FINITE}"])

    async def test_every_place_is_named(self, org_a: Caller) -> None:
        text = (
            '{"name": "n", "restaurants": [{"name": "A", "execution_config": '
            '{"x": NaN, "y": [1, Infinity], "z": {"w": -1e999}}}]}'
        )
        status, answer = await org_a.post(
            BASE, data=text.encode(), headers={"Content-Type": "application/json"}
        )
        prefix = "restaurants[0].execution_config"
        assert status == 400
        assert answer["errors"] == [
            f"{prefix}.x: {NOT_FINITE}",
            f"{prefix}.y[1]: {NOT_FINITE}",
            f"{prefix}.z.w: {NOT_FINITE}",
        ]

    async def test_in_a_json_lines_upload_or_a_csv_json_cell(self, org_a: Caller) -> None:
        before = await batch_ids(org_a)
        lines = '{"name": "A"}\n{"name": "B", "execution_config": {"x": [NaN]}}\n'
        status, answer = await upload(org_a, "nd", lines, "application/x-ndjson")
        assert status == 422
        assert answer["errors"] == [f"line 2: execution_config.x[0]: {NOT_FINITE}"]
        sheet = 'name,account.extra\nA,"{""n"": Infinity}"\n'
        status, answer = await upload(org_a, "csv", sheet, "text/csv")
        assert status == 422
        assert answer["errors"] == [f"row 2: execution_config.account.extra.n: {NOT_FINITE}"]
        assert await batch_ids(org_a) == before


class TestRepeatedKeys:
    @SETTINGS
    @given(case=spoiled_batches(), key=KEYS)
    async def test_anywhere_in_a_batch_is_400_naming_it_and_makes_nothing(
        self, org_a: Caller, case: tuple[dict[str, Any], Where], key: str
    ) -> None:
        body, where = case
        before = await batch_ids(org_a)
        status, answer = await org_a.post(
            BASE,
            data=dumped(body, repeated_object(key)),
            headers={"Content-Type": "application/json"},
        )
        assert (status, answer["errors"]) == (400, [f"{field_path([*where, key])}: {REPEATED}"])
        assert await batch_ids(org_a) == before

    @SETTINGS
    @given(kind=st.sampled_from(["single", "bulk"]), at=KEYS, case=nested(), key=KEYS)
    async def test_anywhere_in_an_edit_is_400_naming_it_and_records_nothing(
        self,
        org_a: Caller,
        editable_job: str,
        kind: str,
        at: str,
        case: tuple[Any, Where],
        key: str,
    ) -> None:
        value, steps = case
        suffix, body, where = edit_body(kind, {at: value})
        before = await events_of(org_a, editable_job)
        status, answer = await org_a.patch(
            sub_steps(editable_job) + suffix,
            data=dumped(body, repeated_object(key)),
            headers={"Content-Type": "application/json"},
        )
        expected = f"{field_path([*where, at, *steps, key])}: {REPEATED}"
        assert (status, answer["errors"]) == (400, [expected])
        assert await events_of(org_a, editable_job) == before

    async def test_a_repeated_status_is_not_read_as_the_last(
        self, org_a: Caller, editable_job: str
    ) -> None:
        before = await events_of(org_a, editable_job)
        text = '{"status": "skipped", "reason": "by hand", "status": "failed"}'
        status, answer = await org_a.patch(
            f"{sub_steps(editable_job)}/menuImport",
            data=text.encode(),
            headers={"Content-Type": "application/json"},
        )
        assert (status, answer["errors"]) == (400, [f"status: {REPEATED}"])
        assert "more than once" in answer["message"]
        assert await events_of(org_a, editable_job) == before

    async def test_in_a_json_lines_upload(self, org_a: Caller) -> None:
        lines = '{"name": "A", "execution_config": {"menu": {"menu_id": "a", "menu_id": "b"}}}\n'
        status, answer = await upload(org_a, "nd", lines, "application/x-ndjson")
        assert status == 422
        assert answer["errors"] == [f"line 1: execution_config.menu.menu_id: {REPEATED}"]


REFUSED_TYPES = [
    None,
    "text/plain",
    "text/plain; charset=utf-8",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/xml",
    "text/xml",
    "application/octet-stream",
    "text/json",
    "application/json; charset=iso-8859-1",
    "application/json; charset=utf-8; charset=utf-16",
    "application/json; charset=utf-16; charset=utf-8",
    "application/json; charset=utf-8; Charset=utf-8",
    "application/jsonx",
]
ACCEPTED_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    'Application/JSON; Charset="UTF-8"',
    "application/merge-patch+json",
    "application/vnd.regflow+json; charset=UTF-8",
]


async def send(
    caller: Caller, method: str, path: str, body: bytes, content_type: str | None
) -> tuple[int, Any, dict[str, str]]:
    """`body` as `content_type` (None: with no Content-Type header at all)."""
    headers = {"Authorization": f"Bearer {caller.key}"}
    if content_type is None:
        options: dict[str, Any] = {"skip_auto_headers": ["Content-Type"]}
    else:
        options, headers = {}, headers | {"Content-Type": content_type}
    async with caller.client.request(
        method, path, data=body, headers=headers, **options
    ) as response:
        assert content_type is not None or "Content-Type" not in response.request_info.headers
        answer = await response.json() if response.content_type == "application/json" else None
        return response.status, answer, dict(response.headers)


JobRequest = Callable[[str], tuple[str, str, dict[str, Any]]]
JOB_REQUESTS: dict[str, JobRequest] = {
    "edit": lambda j: (
        "PATCH",
        f"{sub_steps(j)}/menuImport",
        {"status": "completed", "reason": "r"},
    ),
    "bulk": lambda j: (
        "PATCH",
        sub_steps(j),
        {"updates": [{"sub_step": "menuImport", "status": "completed", "reason": "r"}]},
    ),
    "reset": lambda j: ("POST", f"{sub_steps(j)}/menuImport/reset", {"reason": "r"}),
    "resume": lambda j: ("POST", f"{BASE}/jobs/{j}/resume-step-6", {"reason": "r"}),
    "cancel": lambda j: ("POST", f"{BASE}/jobs/{j}/cancel", {"reason": "r"}),
}


class TestContentTypes:
    @pytest.mark.parametrize("content_type", REFUSED_TYPES)
    async def test_a_batch_sent_as_anything_else_is_415_and_makes_nothing(
        self, org_a: Caller, content_type: str | None
    ) -> None:
        before = await batch_ids(org_a)
        body = json.dumps({"name": "typed", "restaurants": [restaurant()]}).encode()
        status, answer, headers = await send(org_a, "POST", BASE, body, content_type)
        assert status == 415, answer
        assert answer["success"] is False
        assert "application/json" in answer["message"] and "text/csv" in answer["message"]
        assert answer["errors"][0].startswith("Content-Type: ")
        assert "application/json" in headers["Accept"] and "text/csv" in headers["Accept"]
        assert await batch_ids(org_a) == before

    @pytest.mark.parametrize("content_type", REFUSED_TYPES)
    @pytest.mark.parametrize("request_of", JOB_REQUESTS.values(), ids=JOB_REQUESTS.keys())
    async def test_a_job_command_sent_as_anything_else_is_415_and_records_nothing(
        self, org_a: Caller, editable_job: str, request_of: JobRequest, content_type: str | None
    ) -> None:
        before = await events_of(org_a, editable_job)
        method, path, body = request_of(editable_job)
        status, answer, headers = await send(
            org_a, method, path, json.dumps(body).encode(), content_type
        )
        assert status == 415, answer
        assert "application/json" in answer["message"] and "text/csv" not in answer["message"]
        assert headers["Accept"] == "application/json, application/*+json"
        assert await events_of(org_a, editable_job) == before

    @pytest.mark.parametrize("content_type", REFUSED_TYPES[1:])
    async def test_start_sent_as_anything_else_is_415(
        self, org_a: Caller, content_type: str
    ) -> None:
        batch = await org_a.new_batch()
        body = json.dumps({"job_ids": [batch["jobs"][0]["id"]]}).encode()
        path = f"{BASE}/{batch['id']}/step-6/start"
        status, answer, _ = await send(org_a, "POST", path, body, content_type)
        assert status == 415, answer
        _, job = await org_a.get(f"{BASE}/jobs/{batch['jobs'][0]['id']}")
        assert job["job"]["status"] == "pending"

    @pytest.mark.parametrize("content_type", ACCEPTED_TYPES)
    async def test_json_under_any_json_type_is_read(
        self, org_a: Caller, editable_job: str, content_type: str
    ) -> None:
        body = json.dumps({"name": "typed", "restaurants": [restaurant()]}).encode()
        status, answer, _ = await send(org_a, "POST", BASE, body, content_type)
        assert status == 201, answer
        method, path, edit = JOB_REQUESTS["edit"](editable_job)
        edit |= {"dry_run": True}
        status, answer, _ = await send(org_a, method, path, json.dumps(edit).encode(), content_type)
        assert status == 200, answer

    @pytest.mark.parametrize("content_type", [None, "text/plain", "application/json"])
    async def test_an_empty_optional_body_needs_no_type(
        self, org_a: Caller, content_type: str | None
    ) -> None:
        batch = await org_a.new_batch()
        path = f"{BASE}/{batch['id']}/step-6/start"
        status, answer, _ = await send(org_a, "POST", path, b"", content_type)
        assert status == 202, answer

    async def test_uploads_keep_their_types_with_parameters(self, org_a: Caller) -> None:
        status, answer, _ = await send(
            org_a, "POST", f"{BASE}?name=s", b"name\nA\n", "text/csv; charset=utf-8"
        )
        assert status == 201, answer
        status, answer, _ = await send(
            org_a, "POST", f"{BASE}?name=s", b'{"name": "A"}\n', "application/x-ndjson"
        )
        assert status == 201, answer

    async def test_the_openapi_document_declares_415_where_a_body_is_read(
        self, org_a: Caller
    ) -> None:
        _, doc = await org_a.get("/api/openapi.json")
        for path, operations in doc["paths"].items():
            for method, operation in operations.items():
                has_body = "requestBody" in operation
                assert ("415" in operation["responses"]) == has_body, (method, path)


LOOSE = ["yes", "true", 1, 0, "1", None, "false", "on"]


class TestStrictBooleans:
    @pytest.mark.parametrize("value", LOOSE)
    @pytest.mark.parametrize("command", ["edit", "bulk", "reset", "resume"])
    async def test_dry_run_is_a_json_boolean_everywhere(
        self, org_a: Caller, editable_job: str, command: str, value: Any
    ) -> None:
        method, path, body = JOB_REQUESTS[command](editable_job)
        before = await events_of(org_a, editable_job)
        status, answer = await org_a.call(method, path, json=body | {"dry_run": value})
        assert status == 422, answer
        assert [e.split(":")[0] for e in answer["errors"]] == ["dry_run"]
        assert await events_of(org_a, editable_job) == before

    @pytest.mark.parametrize("value", [v for v in LOOSE if v is not None])
    async def test_a_json_config_switch_is_a_json_boolean(self, org_a: Caller, value: Any) -> None:
        before = await batch_ids(org_a)
        sections = {"payment": {"enabled": value}, "menu": {"menu_id": "m", "item_tags": value}}
        body = {"name": "n", "restaurants": [restaurant("A"), restaurant("B", **sections)]}
        status, answer = await org_a.post(BASE, json=body)
        assert status == 422, answer
        assert [e.split(":")[0] for e in answer["errors"]] == [
            "restaurants[1].execution_config.menu.item_tags",
            "restaurants[1].execution_config.payment.enabled",
        ]
        lines = json.dumps({"name": "A", "execution_config": {"payment": {"enabled": value}}})
        status, answer = await upload(org_a, "nd", lines, "application/x-ndjson")
        assert status == 422, answer
        assert answer["errors"][0].startswith("line 1: execution_config.payment.enabled: ")
        assert await batch_ids(org_a) == before

    async def test_a_spreadsheet_cell_still_says_false_as_text(self, org_a: Caller) -> None:
        sheet = "name,payment.enabled\nA,FALSE\n"
        status, answer = await upload(org_a, "s", sheet, "text/csv")
        assert status == 201, answer


class TestExternalIds:
    async def test_a_batch_naming_one_twice_is_422_naming_both_and_makes_nothing(
        self, org_a: Caller
    ) -> None:
        before = await batch_ids(org_a)
        body = {
            "name": "twice",
            "restaurants": [
                restaurant("A") | {"external_id": "r-1"},
                restaurant("B") | {"external_id": "r-2"},
                restaurant("C") | {"external_id": "r-1"},
            ],
        }
        status, answer = await org_a.post(BASE, json=body)
        assert status == 422, answer
        assert answer["errors"] == [
            "restaurants[2].external_id: the same as restaurants[0]'s; an external id names one "
            "restaurant of a batch"
        ]
        assert await batch_ids(org_a) == before

    @SETTINGS
    @given(ids=st.lists(st.sampled_from(["a", "b", "c", None]), min_size=1, max_size=6))
    async def test_only_repeated_non_null_ids_are_refused(
        self, org_a: Caller, ids: list[str | None]
    ) -> None:
        rows = [restaurant(f"R{i}") | {"external_id": e} for i, e in enumerate(ids)]
        for row in rows:
            if row["external_id"] is None:
                del row["external_id"]
        status, answer = await org_a.post(BASE, json={"name": "ids", "restaurants": rows})
        firsts = {e: ids.index(e) for e in ids if e is not None}
        repeats = [
            f"restaurants[{i}].external_id: the same as restaurants[{firsts[e]}]'s"
            for i, e in enumerate(ids)
            if e is not None and firsts[e] != i
        ]
        if not repeats:
            assert status == 201, answer
        else:
            assert status == 422, answer
            assert [e.split(";")[0] for e in answer["errors"]] == repeats

    async def test_an_upload_naming_one_twice_is_422_naming_both_rows(self, org_a: Caller) -> None:
        before = await batch_ids(org_a)
        sheet = "name,external_id\nA,r-1\nB,\nC,\nD,r-1\n"
        status, answer = await upload(org_a, "s", sheet, "text/csv")
        assert status == 422, answer
        assert answer["errors"][0].startswith("row 5: external_id: the same as row 2's")
        assert await batch_ids(org_a) == before


class TestCliFile:
    """`regflow batch run FILE` checks its file as the API checks a body, where it can."""

    def test_a_non_finite_number_in_the_file_is_refused_naming_it(self, tmp_path: Path) -> None:
        path = tmp_path / "batch.json"
        path.write_text(
            '{"name": "n", "restaurants": [{"name": "A", "execution_config": '
            '{"payment": {"fee": NaN}}}]}'
        )
        with pytest.raises(BadRequest) as refused:
            read_batch(str(path), None)
        assert refused.value.errors == [
            f"restaurants[0].execution_config.payment.fee: {NOT_FINITE}"
        ]

    def test_a_repeated_external_id_in_the_file_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "batch.json"
        path.write_text(
            json.dumps(
                [restaurant("A") | {"external_id": "r-1"}, restaurant("B") | {"external_id": "r-1"}]
            )
        )
        _, restaurants = read_batch(str(path), None)
        with pytest.raises(InvalidInput) as refused:  # as `batch run` creates the batch
            validated_restaurants(restaurants)
        assert refused.value.errors[0].startswith(
            "restaurants[1].external_id: the same as restaurants[0]'s"
        )

    def test_a_repeated_key_in_the_file_is_refused(self, tmp_path: Path) -> None:
        path = tmp_path / "batch.json"
        path.write_text('[{"name": "A", "name": "B"}]')
        try:
            read_batch(str(path), None)
        except BadRequest as refused:
            assert refused.errors == [f"restaurants[0].name: {REPEATED}"]
            return
        raise AssertionError("the file's repeated key was read as its last value")


# JSON in every encoding the standard library would guess, and UTF-8 spoiled: none is UTF-8.
NOT_UTF8 = {
    "utf-16": lambda text: text.encode("utf-16"),
    "utf-16-le": lambda text: text.encode("utf-16-le"),
    "utf-16-be": lambda text: text.encode("utf-16-be"),
    "utf-32": lambda text: text.encode("utf-32"),
    "utf-32-le": lambda text: text.encode("utf-32-le"),
    "latin-1 text": lambda text: text.replace("by hand", "caf\xe9").encode("latin-1"),
    "an encoded surrogate": lambda text: text.replace("by hand", "\ud800").encode(
        "utf-8", "surrogatepass"
    ),
}


class TestEncodings:
    """JSON is read as UTF-8, as the charset check says: a body in another encoding is 400,
    even under `charset=utf-8`, and records nothing (the standard library would have guessed
    UTF-16 or UTF-32 from the bytes and read them)."""

    @pytest.mark.parametrize("encode", NOT_UTF8.values(), ids=NOT_UTF8.keys())
    @pytest.mark.parametrize(
        "content_type", ["application/json", "application/json; charset=utf-8"]
    )
    @pytest.mark.parametrize("request_of", JOB_REQUESTS.values(), ids=JOB_REQUESTS.keys())
    async def test_a_job_command_not_in_utf8_is_400_and_records_nothing(
        self,
        org_a: Caller,
        editable_job: str,
        request_of: JobRequest,
        content_type: str,
        encode: Callable[[str], bytes],
    ) -> None:
        before = await events_of(org_a, editable_job)
        method, path, body = request_of(editable_job)
        sent = encode(json.dumps(body | {"reason": "by hand"}, ensure_ascii=False))
        status, answer, _ = await send(org_a, method, path, sent, content_type)
        assert (status, answer["success"]) == (400, False), answer
        assert answer["errors"][0].startswith("body: "), answer
        assert await events_of(org_a, editable_job) == before

    @pytest.mark.parametrize("encode", NOT_UTF8.values(), ids=NOT_UTF8.keys())
    async def test_a_batch_not_in_utf8_is_400_and_makes_nothing(
        self, org_a: Caller, encode: Callable[[str], bytes]
    ) -> None:
        before = await batch_ids(org_a)
        text = json.dumps({"name": "by hand", "restaurants": [restaurant()]}, ensure_ascii=False)
        status, answer, _ = await send(org_a, "POST", BASE, encode(text), "application/json")
        assert (status, answer["success"]) == (400, False), answer
        assert await batch_ids(org_a) == before

    async def test_utf8_with_a_byte_order_mark_is_read(self, org_a: Caller) -> None:
        text = json.dumps({"name": "caf\xe9", "restaurants": [restaurant()]}, ensure_ascii=False)
        sent = text.encode("utf-8-sig")
        status, answer, _ = await send(org_a, "POST", BASE, sent, "application/json")
        assert status == 201, answer
