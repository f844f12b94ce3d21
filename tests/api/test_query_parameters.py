"""A query parameter given twice is refused naming it, on every route that reads a query: which
of the values was meant cannot be known, and taking the first silently answered `?status=failed
&status=pending` with the failed jobs only."""

from __future__ import annotations

from typing import Any

import pytest

from api.routes import ROUTES
from api.schemas.requests import known_parameters, parameter_names
from tests.api.conftest import BASE, Caller, restaurant

QUERIED = [
    (route, name)
    for route in ROUTES
    if route.query is not None
    for name in (field.alias or key for key, field in route.query.model_fields.items())
]


def concrete(path: str, batch_id: str, job_id: str) -> str:
    return (
        path.replace("{batchId}", batch_id)
        .replace("{jobId}", job_id)
        .replace("{subStepKey}", "menuImport")
    )


async def asked(caller: Caller, route: Any, params: list[tuple[str, str]]) -> tuple[int, Any]:
    """The route asked with `params` on a new batch and its job (a POST with a valid body):
    its answer, once the organisation's batches are seen unchanged by it."""
    batch = await caller.new_batch(restaurant("Asked"))
    _, before = await caller.get(BASE, params={"limit": "500"})
    path = concrete(route.path, batch["id"], batch["jobs"][0]["id"])
    options = {"json": {"name": "x", "restaurants": [restaurant()]}}
    answer = await caller.call(
        route.method, path, params=params, **(options if route.method == "POST" else {})
    )
    _, after = await caller.get(BASE, params={"limit": "500"})
    assert after == before
    return answer


@pytest.mark.parametrize(
    ("route", "name"), QUERIED, ids=[f"{r.method} {r.path} {n}" for r, n in QUERIED]
)
async def test_a_parameter_given_twice_is_refused_and_changes_nothing(
    org_a: Caller, route: object, name: str
) -> None:
    status, body = await asked(org_a, route, [(name, "1"), (name, "2")])
    assert status == 400, body
    assert any(e.startswith(f"{name}:") for e in body["errors"]), body


async def test_a_parameter_given_once_beside_repeated_unknown_ones_is_read(org_a: Caller) -> None:
    batch = await org_a.new_batch(restaurant("A"), restaurant("B"))
    status, body = await org_a.get(
        f"{BASE}/{batch['id']}/jobs", params=[("limit", "1"), ("_", "1"), ("_", "2")]
    )
    assert status == 200 and len(body["jobs"]) == 1, body


KNOWN = sorted(known_parameters())
ELSEWHERE = [
    (route, name)
    for route in ROUTES
    if route.query is not None
    for name in KNOWN
    if name not in parameter_names(route.query)
]


@pytest.mark.parametrize(
    ("route", "name"), ELSEWHERE, ids=[f"{r.method} {r.path} {n}" for r, n in ELSEWHERE]
)
async def test_a_parameter_another_read_takes_is_refused_where_it_is_not_taken(
    org_a: Caller, route: object, name: str
) -> None:
    """`offset` on a list that pages by `after` was ignored: a client paging by it was given
    page one again and again. A parameter no read takes (a cache buster) is still ignored."""
    status, body = await asked(org_a, route, [(name, "5"), ("_", "17")])
    assert status == 400, body
    assert body["errors"] == [
        f"{name}: not taken by this read (it takes "
        f"{', '.join(parameter_names(route.query)) or 'none'})"  # type: ignore[attr-defined]
    ], body


NUMBERS = [
    (route, name)
    for route in ROUTES
    if route.query is not None
    for name, field in route.query.model_fields.items()
    if field.annotation is int or "int" in str(field.annotation)
]
LOOSE = ["1.0", "+5", "1_0", " 5", "5 ", "\u0665", "0x5", "5e0"]


@pytest.mark.parametrize(
    ("route", "name"), NUMBERS, ids=[f"{r.method} {r.path} {n}" for r, n in NUMBERS]
)
@pytest.mark.parametrize("written", LOOSE)
async def test_a_number_not_written_as_digits_is_refused(
    org_a: Caller, route: object, name: str, written: str
) -> None:
    batch = await org_a.new_batch(restaurant("Digits"))
    path = concrete(route.path, batch["id"], batch["jobs"][0]["id"])  # type: ignore[attr-defined]
    status, body = await org_a.call(route.method, path, params={name: written})  # type: ignore[attr-defined]
    assert status == 400, body
    assert body["errors"][0].startswith(f"{name}:"), body


async def test_paging_by_both_after_and_offset_is_said_of_the_query(org_a: Caller) -> None:
    status, body = await org_a.get(BASE, params={"after": "x", "offset": "2"})
    assert (status, body["errors"]) == (400, ["query: after and offset: page by one of them"])
