"""Reading big batches cheaply: paged, filtered, searched jobs; ETag/304; gzip."""

from __future__ import annotations

import base64
import gzip
import json
import unicodedata
import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from api.app import create_app
from infrastructure.settings import Settings
from tests.api.conftest import BASE, Caller, MakeClient, restaurant, run_job


async def walk(caller: Caller, batch_id: str, limit: int, **filters: str) -> list[dict]:
    """Every job the pages give, following cursors to the end."""
    seen: list[dict] = []
    after: str | None = None
    for _ in range(1000):
        params = {"limit": str(limit), **filters} | ({"after": after} if after else {})
        status, body = await caller.get(f"{BASE}/{batch_id}/jobs", params=params)
        assert status == 200, body
        assert len(body["jobs"]) <= limit
        seen += body["jobs"]
        after = body["next_after"]
        if after is None:
            return seen
    raise AssertionError("the cursor never ended")


class TestPaging:
    @pytest.mark.parametrize("limit", [1, 7, 25, 1000])
    async def test_pages_give_every_job_once_in_creation_order(
        self, org_a: Caller, limit: int
    ) -> None:
        batch = await org_a.new_batch(*[restaurant(f"R {i}") for i in range(25)])
        jobs = await walk(org_a, batch["id"], limit)
        assert [j["id"] for j in jobs] == [j["id"] for j in batch["jobs"]]

    async def test_status_filter_and_total(self, org_a: Caller) -> None:
        batch = await org_a.new_batch(*[restaurant(f"R {i}") for i in range(6)])
        done = [j["id"] for j in batch["jobs"][:2]]
        status, _ = await org_a.post(f"{BASE}/{batch['id']}/step-6/start", json={"job_ids": done})
        assert status == 202
        for job_id in done:
            run_job(org_a.client, job_id)
        jobs = await walk(org_a, batch["id"], 1, status="completed")
        assert sorted(j["id"] for j in jobs) == sorted(done)
        _, body = await org_a.get(f"{BASE}/{batch['id']}/jobs", params={"status": "pending"})
        assert body["total"] == 4

    async def test_search_is_case_blind_and_takes_wildcards_literally(self, org_a: Caller) -> None:
        names = ["100% Pure", "a_b Diner", "axb Diner", "Café Ünïcode", "Plain"]
        batch = await org_a.new_batch(*[restaurant(n) for n in names])

        async def found(q: str) -> list[str]:
            return [j["name"] for j in await walk(org_a, batch["id"], 2, q=q)]

        assert await found("%") == ["100% Pure"]
        assert await found("_") == ["a_b Diner"]
        assert await found("DINER") == ["a_b Diner", "axb Diner"]
        assert await found("café") == ["Café Ünïcode"]

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        name=st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)
        .map(str.strip)
        .filter(lambda n: any(c.isalnum() for c in n))
    )
    @example(name="İstanbul")
    @example(name="ΣΊΣΥΦΟΣ")
    @example(name="Straße")
    @example(name="ǅemal")
    async def test_a_name_searched_as_written_finds_its_job(self, org_a: Caller, name: str) -> None:
        """Python lowered the search and the store lowered the names, differently: `İstanbul`
        found no job, though one was named so."""
        batch = await org_a.new_batch(restaurant(name), restaurant("Other"))
        found = [j["id"] for j in await walk(org_a, batch["id"], 5, q=name)]
        assert batch["jobs"][0]["id"] in found

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        name=st.text("aeiouncAEIOUNC \u00e9\u00fc\u00f1\u00c5\u0301\u0308\u0303", max_size=10).map(
            lambda n: "x" + n + "y"
        ),
        stored_as=st.sampled_from(["NFC", "NFD"]),
        searched_as=st.sampled_from(["NFC", "NFD", "NFKC", "NFKD"]),
    )
    @example(name="Ünïcødé", stored_as="NFC", searched_as="NFD")
    async def test_a_name_is_found_however_unicode_writes_it(
        self, org_a: Caller, name: str, stored_as: str, searched_as: str
    ) -> None:
        """A decomposed `Ünïcødé` (as some keyboards and file systems write it) found no job
        named in the composed form, and the other way round."""
        stored = unicodedata.normalize(stored_as, name)
        batch = await org_a.new_batch(restaurant(stored), restaurant("Other"))
        searched = unicodedata.normalize(searched_as, name)
        found = [j["id"] for j in await walk(org_a, batch["id"], 5, q=searched)]
        assert found == [batch["jobs"][0]["id"]]

    async def test_full_width_letters_find_the_name_they_spell(self, org_a: Caller) -> None:
        batch = await org_a.new_batch(restaurant("REST 00012"), restaurant("Other"))
        found = [
            j["name"] for j in await walk(org_a, batch["id"], 5, q="\uff32\uff25\uff33\uff34 00012")
        ]
        assert found == ["REST 00012"]

    async def test_a_search_of_blanks_alone_looks_for_them(self, org_a: Caller) -> None:
        """`q=%0A` (or three spaces) was read as no search at all: every job came back."""
        names = ["New\nLine", "tab\there", "three   spaces", "Plain"]
        batch = await org_a.new_batch(*[restaurant(n) for n in names])

        async def found(q: str) -> list[str]:
            return [j["name"] for j in await walk(org_a, batch["id"], 2, q=q)]

        assert await found("\n") == ["New\nLine"]
        assert await found("\t") == ["tab\there"]
        assert await found("   ") == ["three   spaces"]
        assert await found(" plain ") == ["Plain"]

    async def test_search_finds_external_ids(self, org_a: Caller) -> None:
        wanted = restaurant("Somewhere")
        batch = await org_a.new_batch(restaurant("Elsewhere"), wanted)
        jobs = await walk(org_a, batch["id"], 10, q=wanted["external_id"])
        assert [j["name"] for j in jobs] == ["Somewhere"]

    @pytest.mark.parametrize("after", ["nonsense", "%%%", "bm8tYmFy", "fA", "\u00e9|x", "AHx4"])
    async def test_a_cursor_we_did_not_give_is_refused(self, org_a: Caller, after: str) -> None:
        batch = await org_a.new_batch()
        status, body = await org_a.get(f"{BASE}/{batch['id']}/jobs", params={"after": after})
        assert (status, body["errors"]) == (400, ["after: not a cursor this API gave out"])

    async def test_a_hand_made_cursor_is_refused(self, org_a: Caller) -> None:
        batch = await org_a.new_batch(restaurant("A"), restaurant("B"))
        made = f"1999-01-01T00:00:00+00:00|{uuid.UUID(int=0)}"
        forged = {"limit": "1", "after": base64.b64encode(made.encode()).decode()}
        status, body = await org_a.get(f"{BASE}/{batch['id']}/jobs", params=forged)
        assert (status, body["errors"]) == (400, ["after: not a cursor this API gave out"])

    async def test_nul_in_a_search_or_cursor_is_400_on_every_store(self, org_a: Caller) -> None:
        batch = await org_a.new_batch()
        for params in ({"q": "a\x00b"}, {"after": "\x00"}):
            status, body = await org_a.get(f"{BASE}/{batch['id']}/jobs", params=params)
            assert status == 400, body

    async def test_bad_limit_and_status_are_400(self, org_a: Caller) -> None:
        batch = await org_a.new_batch()
        for params in ({"limit": "0"}, {"limit": "x"}, {"status": "blocked!"}):
            status, _ = await org_a.get(f"{BASE}/{batch['id']}/jobs", params=params)
            assert status == 400

    async def test_another_organisation_sees_nothing(self, org_a: Caller, org_b: Caller) -> None:
        batch = await org_a.new_batch()
        status, _ = await org_b.get(f"{BASE}/{batch['id']}/jobs")
        assert status == 404
        status, _ = await org_a.get(f"{BASE}/{uuid.uuid4()}/jobs")
        assert status == 404


class TestCursorsAreForTheirListing:
    """A cursor is read back only on the batch, status filter and search it was given out for."""

    async def test_a_cursor_of_another_batch_is_refused(self, org_a: Caller) -> None:
        one, other = [await org_a.new_batch(restaurant("A"), restaurant("B")) for _ in range(2)]
        after = await first_cursor(org_a, one["id"], {"limit": "1"})
        status, body = await org_a.get(
            f"{BASE}/{other['id']}/jobs", params={"limit": "1", "after": after}
        )
        assert (status, body["errors"]) == (400, ["after: not a cursor this API gave out"])

    @pytest.mark.parametrize("used_with", [{}, {"status": "completed"}, {"q": "R"}])
    async def test_a_cursor_of_a_filtered_listing_is_refused_on_another(
        self, org_a: Caller, used_with: dict[str, str]
    ) -> None:
        batch = await org_a.new_batch(*[restaurant(f"R {i}") for i in range(3)])
        after = await first_cursor(org_a, batch["id"], {"limit": "1", "status": "pending"})
        params = {"limit": "1", "after": after} | used_with
        status, body = await org_a.get(f"{BASE}/{batch['id']}/jobs", params=params)
        assert (status, body["errors"]) == (400, ["after: not a cursor this API gave out"])

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    async def test_only_the_genuine_cursor_is_read(
        self, org_a: Caller, paged_batch: tuple[str, list[str]], data: st.DataObject
    ) -> None:
        batch_id, cursors = paged_batch
        genuine = data.draw(st.sampled_from(cursors))
        after = data.draw(st.one_of(st.just(genuine), mutated(genuine), CURSOR_TEXT))
        params = {"limit": "2", "after": after}
        status, body = await org_a.get(f"{BASE}/{batch_id}/jobs", params=params)
        assert status == (200 if after in cursors else 400), body

    async def test_instances_on_one_store_read_each_other_s_cursors(
        self, org_a: Caller, api_settings: Settings, aiohttp_client: MakeClient
    ) -> None:
        batch = await org_a.new_batch(*[restaurant(f"R {i}") for i in range(5)])
        other = Caller(await aiohttp_client(create_app(api_settings)), org_a.org, org_a.key)
        after = await first_cursor(org_a, batch["id"], {"limit": "2"})
        params = {"limit": "3", "after": after}
        status, body = await other.get(f"{BASE}/{batch['id']}/jobs", params=params)
        assert status == 200, body
        assert [j["id"] for j in body["jobs"]] == [j["id"] for j in batch["jobs"][2:]]


def mutated(cursor: str) -> st.SearchStrategy[str]:
    """`cursor` with a few of its decoded bytes changed, spelt as the API spells cursors."""
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    changes = st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 255)), min_size=1)

    def applied(edits: list[tuple[int, int]]) -> str:
        changed = bytearray(raw)
        for at, value in edits:
            changed[at] = value
        return base64.urlsafe_b64encode(bytes(changed)).decode().rstrip("=")

    return changes.map(applied)


async def first_cursor(caller: Caller, batch_id: str, params: dict[str, str]) -> str:
    status, body = await caller.get(f"{BASE}/{batch_id}/jobs", params=params)
    assert status == 200 and body["next_after"], body
    return str(body["next_after"])


class TestConditionalReads:
    @pytest.mark.parametrize("suffix", ["", "/progress"])
    async def test_batch_reads_answer_304_until_a_job_changes(
        self, org_a: Caller, suffix: str
    ) -> None:
        batch = await org_a.new_batch(restaurant("A"), restaurant("B"))
        path = f"{BASE}/{batch['id']}{suffix}"
        tag = await self._tag(org_a, path)
        assert await self._status(org_a, path, tag) == 304
        await org_a.post(f"{BASE}/{batch['id']}/step-6/start")
        run_job(org_a.client, batch["jobs"][1]["id"])
        assert await self._status(org_a, path, tag) == 200
        assert await self._tag(org_a, path) != tag

    async def test_job_read_answers_304_until_the_job_changes(self, org_a: Caller) -> None:
        job_id = await org_a.started_job()
        path = f"{BASE}/jobs/{job_id}"
        tag = await self._tag(org_a, path)
        assert await self._status(org_a, path, f'W/"other", {tag}') == 304
        await org_a.post(f"{BASE}/jobs/{job_id}/cancel")
        assert await self._status(org_a, path, tag) == 200

    async def test_a_tag_never_crosses_organisations(self, org_a: Caller, org_b: Caller) -> None:
        batch = await org_a.new_batch()
        tag = await self._tag(org_a, f"{BASE}/{batch['id']}")
        assert await self._status(org_b, f"{BASE}/{batch['id']}", tag) == 404

    @staticmethod
    async def _tag(caller: Caller, path: str) -> str:
        headers = {"Authorization": f"Bearer {caller.key}"}
        async with caller.client.get(path, headers=headers) as response:
            assert response.status == 200
            return response.headers["ETag"]

    @staticmethod
    async def _status(caller: Caller, path: str, tag: str) -> int:
        headers = {"Authorization": f"Bearer {caller.key}", "If-None-Match": tag}
        async with caller.client.get(path, headers=headers) as response:
            if response.status == 304:
                assert await response.read() == b""
            return response.status


JOB_FILTERS = ["pending", "in_progress", "completed", "failed", "cancelled", "blocked"]
QUERY_CHARACTERS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
SEARCHES = st.text(QUERY_CHARACTERS, max_size=12)
CURSOR_TEXT = st.text(QUERY_CHARACTERS, max_size=100)


async def page_tag(caller: Caller, batch_id: str, params: dict[str, str]) -> str:
    headers = {"Authorization": f"Bearer {caller.key}"}
    path = f"{BASE}/{batch_id}/jobs"
    async with caller.client.get(path, params=params, headers=headers) as response:
        assert response.status == 200, await response.text()
        return response.headers["ETag"]


async def page_status(caller: Caller, batch_id: str, params: dict[str, str], tag: str) -> int:
    headers = {"Authorization": f"Bearer {caller.key}", "If-None-Match": tag}
    path = f"{BASE}/{batch_id}/jobs"
    async with caller.client.get(path, params=params, headers=headers) as response:
        if response.status == 304:
            assert await response.read() == b""
        return response.status


def meaning(params: dict[str, str]) -> tuple[object, ...]:
    """What a jobs query asks, whatever its spelling (an absent limit is the default, 100)."""
    return (int(params.get("limit", "100")), *(params.get(k) for k in ("after", "status", "q")))


def respelled(params: dict[str, str]) -> dict[str, str]:
    """The same question asked differently: the default limit spelled out, a cache buster."""
    return {"limit": "100"} | params | {"_": "cache-buster"}


class TestConditionalPages:
    """GET /{batchId}/jobs: tagged by what the page says, for the query that asked."""

    async def test_a_repeat_is_304_and_a_change_on_the_page_gives_a_new_tag(
        self, org_a: Caller
    ) -> None:
        batch = await org_a.new_batch(restaurant("A"), restaurant("B"), restaurant("C"))
        first, second = {"limit": "1"}, {"limit": "1", "after": await self._cursor(org_a, batch)}
        tags = [await page_tag(org_a, batch["id"], p) for p in (first, second)]
        assert tags[0] != tags[1]
        assert await page_status(org_a, batch["id"], first, tags[0]) == 304
        assert await page_tag(org_a, batch["id"], first) == tags[0]
        await org_a.post(
            f"{BASE}/{batch['id']}/step-6/start", json={"job_ids": [batch["jobs"][0]["id"]]}
        )
        run_job(org_a.client, batch["jobs"][0]["id"])
        assert await page_status(org_a, batch["id"], first, tags[0]) == 200
        assert await page_tag(org_a, batch["id"], first) != tags[0]
        # The second page (job B, the same cursor after it, the same count) reads as before.
        assert await page_status(org_a, batch["id"], second, tags[1]) == 304

    async def test_the_cursor_on_a_page_is_part_of_its_tag(self, org_a: Caller) -> None:
        batch = await org_a.new_batch(restaurant("A"), restaurant("B"))
        query = {"limit": "1", "status": "pending"}
        tag = await page_tag(org_a, batch["id"], query)
        # B leaves the filter: page one still shows A, with no next page and a smaller count.
        await org_a.post(
            f"{BASE}/{batch['id']}/step-6/start", json={"job_ids": [batch["jobs"][1]["id"]]}
        )
        _, body = await org_a.get(f"{BASE}/{batch['id']}/jobs", params=query)
        assert (body["next_after"], [j["name"] for j in body["jobs"]]) == (None, ["A"])
        assert await page_tag(org_a, batch["id"], query) != tag

    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    async def test_a_tag_answers_304_only_to_the_query_that_earned_it(
        self, org_a: Caller, paged_batch: tuple[str, list[str]], data: st.DataObject
    ) -> None:
        batch_id, cursors = paged_batch
        limits = st.integers(1, 1000).map(str)
        filters = {"status": st.sampled_from(JOB_FILTERS), "q": SEARCHES}
        queries = st.one_of(  # the cursors are the unfiltered listing's: read on it only
            st.fixed_dictionaries({}, optional={"limit": limits, **filters}),
            st.fixed_dictionaries({"after": st.sampled_from(cursors)}, optional={"limit": limits}),
        )
        one = data.draw(queries)
        other = data.draw(st.one_of(queries, st.just(one), st.just(respelled(one))))
        tag = await page_tag(org_a, batch_id, one)
        assert await page_tag(org_a, batch_id, one) == tag
        assert (await page_tag(org_a, batch_id, other) == tag) == (meaning(one) == meaning(other))
        expected = 304 if meaning(one) == meaning(other) else 200
        assert await page_status(org_a, batch_id, other, tag) == expected

    @staticmethod
    async def _cursor(caller: Caller, batch: dict) -> str:
        _, body = await caller.get(f"{BASE}/{batch['id']}/jobs", params={"limit": "1"})
        return str(body["next_after"])


@pytest.fixture
async def paged_batch(org_a: Caller) -> tuple[str, list[str]]:
    """A batch of jobs in several states, and every cursor its pages of two give out."""
    batch = await org_a.new_batch(*[restaurant(f"R {i}") for i in range(5)])
    ids = [j["id"] for j in batch["jobs"]]
    await org_a.post(f"{BASE}/{batch['id']}/step-6/start", json={"job_ids": ids[:3]})
    run_job(org_a.client, ids[0])
    run_job(org_a.client, ids[1], failing=["menuImport"])
    return batch["id"], await _cursors(org_a, batch["id"])


async def _cursors(caller: Caller, batch_id: str) -> list[str]:
    cursors: list[str] = []
    params = {"limit": "2"}
    while True:
        _, body = await caller.get(f"{BASE}/{batch_id}/jobs", params=params)
        if body["next_after"] is None:
            return cursors
        cursors.append(body["next_after"])
        params = {"limit": "2", "after": body["next_after"]}


class TestGzip:
    async def test_json_is_gzipped_only_when_accepted(self, org_a: Caller) -> None:
        batch = await org_a.new_batch(*[restaurant(f"R {i}") for i in range(20)])
        path = f"{BASE}/{batch['id']}"
        for accept, encoding in (("gzip, deflate", "gzip"), ("identity", None), ("gzip;q=0", None)):
            headers = {"Authorization": f"Bearer {org_a.key}", "Accept-Encoding": accept}
            async with org_a.client.get(path, headers=headers, auto_decompress=False) as r:
                assert r.headers.get("Content-Encoding") == encoding
                raw = await r.read()
            if encoding:
                assert json.loads(gzip.decompress(raw))["batch"]["id"] == batch["id"]


class TestBatchUpdatedAt:
    async def test_moves_with_its_jobs(self, org_a: Caller) -> None:
        batch = await org_a.new_batch()
        _, before = await org_a.get(f"{BASE}/{batch['id']}")
        await org_a.post(f"{BASE}/{batch['id']}/step-6/start")
        run_job(org_a.client, batch["jobs"][0]["id"])
        _, after = await org_a.get(f"{BASE}/{batch['id']}")
        assert after["batch"]["updated_at"] > before["batch"]["updated_at"]
        _, listed = await org_a.get(BASE)
        mine = [b for b in listed["batches"] if b["id"] == batch["id"]]
        assert mine[0]["updated_at"] == after["batch"]["updated_at"]


class TestBlockedAndBrief:
    async def test_blocked_finds_jobs_with_a_sub_step_blocked(self, org_a: Caller) -> None:
        batch = await org_a.new_batch(restaurant("Stuck"), restaurant("Fine"))
        await org_a.post(f"{BASE}/{batch['id']}/step-6/start")
        run_job(org_a.client, batch["jobs"][0]["id"], failing=["menuImport"])
        run_job(org_a.client, batch["jobs"][1]["id"])
        jobs = await walk(org_a, batch["id"], 10, status="blocked")
        assert [j["name"] for j in jobs] == ["Stuck"]

    @pytest.mark.parametrize("read", ["brief", "full", "progress"])
    async def test_sub_steps_count_every_job_of_the_batch(self, org_a: Caller, read: str) -> None:
        batch = await org_a.new_batch(*[restaurant(f"R {i}") for i in range(5)])
        ids = [j["id"] for j in batch["jobs"]]
        await org_a.post(f"{BASE}/{batch['id']}/step-6/start", json={"job_ids": ids[:2]})
        run_job(org_a.client, ids[0])
        run_job(org_a.client, ids[1], failing=["menuImport"])
        expected: dict[str, int] = {}
        for job in await walk(org_a, batch["id"], 2):
            for status, n in job["counts"].items():
                expected[status] = expected.get(status, 0) + n
        if read == "progress":
            _, answer = await org_a.get(f"{BASE}/{batch['id']}/progress")
        else:
            brief = "1" if read == "brief" else "0"
            _, body = await org_a.get(f"{BASE}/{batch['id']}", params={"brief": brief})
            answer = body["batch"]
        assert answer["sub_steps"] == expected
        assert expected["completed"] > 0 and expected["failed"] == 1 and expected["pending"] > 0
        assert answer["waiting_for_capacity"] == 0

    async def test_brief_batch_has_counters_without_jobs(self, org_a: Caller) -> None:
        batch = await org_a.new_batch(restaurant("A"), restaurant("B"))
        _, body = await org_a.get(f"{BASE}/{batch['id']}", params={"brief": "1"})
        assert "jobs" not in body["batch"]
        assert (body["batch"]["total"], body["batch"]["pending"]) == (2, 2)
        _, full = await org_a.get(f"{BASE}/{batch['id']}")
        assert len(full["batch"]["jobs"]) == 2
