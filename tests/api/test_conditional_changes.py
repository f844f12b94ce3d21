"""A change sent with If-Match (the job's ETag as it was read) is made only while the job stands
at that version: a page made stale by another writer, an engine's step or an earlier change of
one's own, or a tag that names no version of the job, answers 412 and nothing is done or
recorded. Without If-Match, or with `*`, a change is made as before."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request
from hypothesis import given
from hypothesis import strategies as st
from multidict import CIMultiDict

from api.app import create_app
from api.caching import IF_MATCH, RELEASE, etag, versions_read
from api.routes import ROUTES
from infrastructure.settings import Settings, reveal
from tests.api.conftest import BASE, Caller, Client, MakeClient
from tests.api.test_edits import REASON, failed_job, statuses

SUB_STEP = "websiteConfig"
MARK = {"status": "completed", "reason": REASON, "result": {"url": "https://buzz.nz"}}


async def read(caller: Caller, job_id: str) -> tuple[str, int, int]:
    """The job's ETag, its version and how many events its log holds."""
    headers = {"Authorization": f"Bearer {caller.key}"}
    async with caller.client.get(f"{BASE}/jobs/{job_id}", headers=headers) as response:
        assert response.status == 200
        version = (await response.json())["job"]["version"]
        tag = response.headers["ETag"]
    _, events = await caller.get(f"{BASE}/jobs/{job_id}/events", params={"limit": "1000"})
    return tag, version, len(events["events"])


async def send(
    caller: Caller,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    if_match: str,
    key: str | None = None,
) -> tuple[int, Any, str | None]:
    """The answer's status, body and ETag, to a change sent with `if_match` (and `key` as its
    Idempotency-Key)."""
    headers = {"Authorization": f"Bearer {caller.key}", IF_MATCH: if_match}
    headers |= {"Idempotency-Key": key} if key is not None else {}
    async with caller.client.request(method, path, json=body, headers=headers) as response:
        return response.status, await response.json(), response.headers.get("ETag")


def mark_path(job_id: str) -> str:
    return f"{BASE}/jobs/{job_id}/steps/6/sub-steps/{SUB_STEP}"


def earlier(tag: str, version: int) -> str:
    """The tag the job had one version before."""
    return tag.replace(f"job-{version}-", f"job-{version - 1}-")


# Every change of one job the API takes, with a body it would take from a job failed at
# SUB_STEP (retry-now aside: the version is compared first), dry runs too.
CHANGES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("PATCH", "/steps/6/sub-steps/{subStepKey}", MARK),
    ("PATCH", "/steps/6/sub-steps/{subStepKey}", MARK | {"dry_run": True}),
    (
        "PATCH",
        "/steps/6/sub-steps",
        {"updates": [{"sub_step": SUB_STEP, "status": "completed"}], "reason": REASON},
    ),
    ("POST", "/steps/6/sub-steps/{subStepKey}/reset", {"reason": REASON}),
    ("POST", "/steps/6/sub-steps/{subStepKey}/retry-now", None),
    ("POST", "/resume-step-6", None),
    ("POST", "/resume-step-6", {"dry_run": True}),
    ("POST", "/cancel", None),
]


def test_every_route_that_changes_one_job_declares_if_match_and_is_tried_below() -> None:
    declared = {
        (r.method, r.path.removeprefix(f"{BASE}/jobs/{{jobId}}"))
        for r in ROUTES
        if any(name == IF_MATCH for name, _ in r.headers)
    }
    changing = {
        (r.method, r.path.removeprefix(f"{BASE}/jobs/{{jobId}}"))
        for r in ROUTES
        if r.path.startswith(f"{BASE}/jobs/{{jobId}}") and r.method in ("PATCH", "POST", "PUT")
    }
    assert declared == changing == {(method, path) for method, path, _ in CHANGES}


@pytest.mark.parametrize(("method", "route", "sent"), CHANGES)
async def test_a_change_sent_on_a_version_past_does_nothing_and_answers_412(
    org_a: Caller, client: Client, method: str, route: str, sent: dict[str, Any] | None
) -> None:
    job_id = await failed_job(org_a, client, SUB_STEP)
    tag, version, events = await read(org_a, job_id)
    path = f"{BASE}/jobs/{job_id}" + route.replace("{subStepKey}", SUB_STEP)
    status, body, _ = await send(org_a, method, path, sent, earlier(tag, version))
    assert status == 412, body
    assert body["success"] is False and f"now at version {version}" in body["message"]
    assert await read(org_a, job_id) == (tag, version, events)  # nothing done, nothing recorded


async def test_an_edit_on_the_version_read_is_made_and_its_answer_tags_the_next(
    org_a: Caller, client: Client
) -> None:
    job_id = await failed_job(org_a, client, SUB_STEP)
    tag, version, events = await read(org_a, job_id)
    status, body, answered = await send(org_a, "PATCH", mark_path(job_id), MARK, tag)
    assert status == 200, body
    after, version_after, events_after = await read(org_a, job_id)
    assert answered == after == etag("job", body["version"]) and version_after > version
    # the page read before the edit is now stale: the same edit sent on it is refused
    reset = {"reason": REASON}
    status, body, _ = await send(org_a, "POST", mark_path(job_id) + "/reset", reset, tag)
    assert status == 412, body
    assert await read(org_a, job_id) == (after, version_after, events_after)
    assert (await statuses(org_a, job_id))[SUB_STEP] == "completed"
    # sent on the tag its answer gave, the next change is made
    status, body, _ = await send(org_a, "POST", mark_path(job_id) + "/reset", reset, after)
    assert status == 200, body
    assert (await statuses(org_a, job_id))[SUB_STEP] == "pending"


@pytest.mark.parametrize(
    "written",
    [
        "*",
        "{tag}",
        "{strong}",
        '"garbage", {tag}',
        '{stale},  {tag} ,W/"batch-1-x"',
    ],
)
async def test_any_tag_of_the_version_the_job_stands_at_or_a_star_lets_a_change_through(
    org_a: Caller, client: Client, written: str
) -> None:
    job_id = await failed_job(org_a, client, SUB_STEP)
    tag, version, _ = await read(org_a, job_id)
    header = written.format(tag=tag, strong=tag.removeprefix("W/"), stale=earlier(tag, version))
    status, body, _ = await send(org_a, "PATCH", mark_path(job_id), MARK, header)
    assert status == 200, body


@pytest.mark.parametrize(
    "written",
    [
        "",
        '"garbage"',
        "garbage",
        "{tag_of_another_release}",
        '"job-{version}"',
        'W/"job-{version}-{release}"x',
        '"job-{version}0000000000000000000000000-{release}"',
        'W/"batch-{version}-{release}"',
        '"job-{version}-{release}',
        '"job--{version}-{release}"',
        '"job-٣-{release}"',  # a digit of another script is no version
    ],
)
async def test_a_tag_that_names_no_version_of_the_job_answers_412_and_changes_nothing(
    org_a: Caller, client: Client, written: str
) -> None:
    job_id = await failed_job(org_a, client, SUB_STEP)
    tag, version, events = await read(org_a, job_id)
    header = written.format(
        tag_of_another_release=tag.replace(f"-{RELEASE}", f"-{RELEASE}.1"),
        version=version,
        release=RELEASE,
    )
    status, body, _ = await send(org_a, "PATCH", mark_path(job_id), MARK, header)
    assert status == 412, body
    assert await read(org_a, job_id) == (tag, version, events)


async def test_a_repeat_of_an_edit_made_on_its_tag_is_answered_as_the_edit_was(
    org_a: Caller, client: Client
) -> None:
    """A client that lost the answer sends the same request again: its If-Match is stale by
    its own edit, and the key's answer stands."""
    job_id = await failed_job(org_a, client, SUB_STEP)
    tag, _, _ = await read(org_a, job_id)
    first = await send(org_a, "PATCH", mark_path(job_id), MARK, tag, "edit-once-4f1c")
    again = await send(org_a, "PATCH", mark_path(job_id), MARK, tag, "edit-once-4f1c")
    assert first[0] == again[0] == 200 and first[1] == again[1]


async def test_of_changes_sent_at_once_on_one_tag_one_is_made(
    org_a: Caller, client: Client
) -> None:
    """The rest answer 412: each was decided on the version the first one moved on."""
    job_id = await failed_job(org_a, client, SUB_STEP)
    tag, version, events = await read(org_a, job_id)
    reset = {"reason": REASON}
    answers = await asyncio.gather(
        *(
            send(org_a, "PATCH", mark_path(job_id), MARK, tag)
            if i % 2
            else send(org_a, "POST", mark_path(job_id) + "/reset", reset, tag)
            for i in range(8)
        )
    )
    assert sorted(a[0] for a in answers) == [200] + [412] * 7, answers
    assert (await read(org_a, job_id))[1] > version


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_of_changes_sent_at_once_on_one_tag_to_two_servers_one_is_made(
    api_settings: Settings, aiohttp_client: MakeClient
) -> None:
    """Two API instances on one PostgreSQL database, each its own store and locks: the
    version is compared in the command that saves, so the two race through the database."""
    settings = api_settings
    org, key = (reveal(settings.api_keys) or "").split(",")[0].split(":", 1)
    first, second = [Caller(await aiohttp_client(create_app(settings)), org, key) for _ in "ab"]
    for _ in range(5):
        job_id = await failed_job(first, first.client, SUB_STEP)
        tag, version, _ = await read(first, job_id)
        answers = await asyncio.gather(
            send(first, "PATCH", mark_path(job_id), MARK, tag),
            send(second, "POST", mark_path(job_id) + "/reset", {"reason": REASON}, tag),
            send(second, "PATCH", mark_path(job_id), MARK, tag),
        )
        assert sorted(a[0] for a in answers) == [200, 412, 412], answers


def mocked(*values: str) -> Any:
    return make_mocked_request("PATCH", "/", headers=CIMultiDict((IF_MATCH, v) for v in values))


@given(
    version=st.integers(min_value=1, max_value=10**6),
    others=st.lists(st.text(st.characters(blacklist_characters=","), max_size=40), max_size=5),
)
def test_a_version_is_read_from_if_match_only_from_a_job_tag_naming_it(
    version: int, others: list[str]
) -> None:
    """Whatever else the header holds, the job's tag, weak or strong, anywhere in it, names
    its version; and nothing else names one."""
    tag = etag("job", version)
    strangers = [o for o in others if o.strip() not in (tag, tag.removeprefix("W/"), "*")]
    alone = versions_read(mocked(*strangers)) if strangers else None
    if alone is not None:
        assert version not in alone.versions
    for written in (tag, tag.removeprefix("W/")):
        found = versions_read(mocked(", ".join([*strangers, written])))
        assert found is not None and version in found.versions
        split = versions_read(mocked(*strangers, written))
        assert split is not None and version in split.versions
