"""Job answers kept in memory: never older than the views, never another organisation's,
gone once the organisation is erased."""

from __future__ import annotations

import gzip
import json
import uuid
from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from api.answer_cache import JobAnswerCache
from api.services import SERVICES
from domain.erasure import OrganisationErasure
from domain.job_events import JOB_TOPIC
from infrastructure.usecases.erasure import erase_organisation, erasure_plan
from tests.api.conftest import BASE, Caller, Client, run_job
from tests.api.test_edits import mark


@dataclass
class JobChanged:
    """A job event as the cache sees one: its topic and its job."""

    originator_id: uuid.UUID
    TOPIC = f"{JOB_TOPIC}.Changed"


def erased(org: str) -> Any:
    return OrganisationErasure.record(org, "user:dpo", 1, 0, 0).collect_events()[0]


JOBS = [uuid.UUID(int=i + 1) for i in range(4)]
ORG_OF = {job: f"org-{i % 2}" for i, job in enumerate(JOBS)}
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["begin", "read", "put", "get", "start", "commit", "done", "forget"]),
        st.integers(0, 3),
    ),
    max_size=60,
)


class Model:
    """The views' rows (a version per job), a runner moving them, readers racing it."""

    def __init__(self) -> None:
        self.cache: JobAnswerCache[int] = JobAnswerCache(size=3)
        self.rows = dict.fromkeys(JOBS, 0)
        self.reads: list[list[Any]] = []  # [job, ticket, version read or None]
        self.run: list[Any] | None = None  # the runner's uncommitted events
        self.committed = False

    def step(self, action: str, n: int) -> None:
        job = JOBS[n]
        if action == "begin":
            self.reads.append([job, self.cache.ticket(), None])
        elif action == "read" and self.reads:
            read = self.reads[n % len(self.reads)]
            read[2] = self.rows[read[0]] if read[2] is None else read[2]
        elif action == "put" and self.reads and self.reads[0][2] is not None:
            found, ticket, version = self.reads.pop(0)
            self.cache.put(found, ORG_OF[found], version, ticket)
        elif action == "get":
            kept = self.cache.get(job)
            assert kept is None or kept == (ORG_OF[job], self.rows[job]), (kept, self.rows[job])
        else:
            self.runner(action, job, n)

    def runner(self, action: str, job: uuid.UUID, n: int) -> None:
        if action == "start" and self.run is None:
            self.run = [erased(f"org-{n % 2}")] if n == 3 else [JobChanged(job)]
            self.cache.changing(self.run)
        elif action == "commit" and self.run is not None and not self.committed:
            for event in self.run:
                if isinstance(event, JobChanged):
                    self.rows[event.originator_id] += 1
            self.committed = True
        elif action == "done" and self.committed and self.run is not None:
            self.cache.changed(self.run)
            self._check_erasures(self.run)
            self.run, self.committed = None, False
        elif action == "forget" and not self.committed:
            self.cache.forgotten()  # a rollback: the rows stay as they were
            self.run = None

    def _check_erasures(self, events: list[Any]) -> None:
        for event in events:
            if isinstance(event, OrganisationErasure.Created):
                kept = [j for j in JOBS if ORG_OF[j] == event.organisation_id]
                assert all(self.cache.get(j) is None for j in kept)


class TestJobAnswerCache:
    @settings(max_examples=400, deadline=None)
    @given(STEPS)
    def test_never_answers_older_than_the_views(self, steps: list[tuple[str, int]]) -> None:
        model = Model()
        for action, n in steps:
            model.step(action, n)
        for job in JOBS:
            model.step("get", JOBS.index(job))

    def test_a_read_that_began_before_a_change_is_not_kept(self) -> None:
        cache: JobAnswerCache[str] = JobAnswerCache()
        job, ticket = JOBS[0], cache.ticket()
        cache.changing([JobChanged(job)])
        cache.changed([JobChanged(job)])
        assert not cache.put(job, "org-0", "old row", ticket)
        assert cache.put(job, "org-0", "new row", cache.ticket())

    def test_nothing_is_kept_while_a_change_is_being_written(self) -> None:
        cache: JobAnswerCache[str] = JobAnswerCache()
        job = JOBS[0]
        assert cache.put(job, "org-0", "row", cache.ticket())
        cache.changing([JobChanged(job)])
        assert cache.get(job) is None
        assert not cache.put(job, "org-0", "row", cache.ticket())

    def test_an_erasure_drops_the_organisation_answers(self) -> None:
        cache: JobAnswerCache[str] = JobAnswerCache()
        for job in JOBS:
            cache.put(job, ORG_OF[job], "row", cache.ticket())
        cache.changed([erased("org-0")])
        assert {j for j in JOBS if cache.get(j) is not None} == {JOBS[1], JOBS[3]}

    def test_holds_at_most_its_size(self) -> None:
        cache: JobAnswerCache[str] = JobAnswerCache(size=2)
        for job in JOBS:
            cache.put(job, ORG_OF[job], "row", cache.ticket())
        assert len(cache) == 2 and cache.get(JOBS[-1]) is not None


async def answer(caller: Caller, job_id: str, encoding: str = "gzip") -> tuple[int, Any, Any]:
    headers = {"Authorization": f"Bearer {caller.key}", "Accept-Encoding": encoding}
    async with caller.client.get(f"{BASE}/jobs/{job_id}", headers=headers) as response:
        return response.status, await response.read(), response.headers


class TestJobAnswersOverHttp:
    async def test_a_repeated_read_is_answered_from_memory(
        self, org_a: Caller, client: Client
    ) -> None:
        job_id = await org_a.started_job()
        first = await answer(org_a, job_id)
        assert client.app[SERVICES].answers.get(uuid.UUID(job_id)) is not None
        second = await answer(org_a, job_id)
        assert first[:2] == second[:2] and first[2]["ETag"] == second[2]["ETag"]

    async def test_gzip_and_plain_answers_hold_the_same_json(self, org_a: Caller) -> None:
        job_id = await org_a.started_job()
        _, plain, plain_headers = await answer(org_a, job_id, "identity")
        _, packed, packed_headers = await answer(org_a, job_id, "gzip")
        assert json.loads(plain) == json.loads(packed)
        assert packed_headers["Content-Encoding"] == "gzip"
        assert "Content-Encoding" not in plain_headers
        assert plain_headers["Vary"] == packed_headers["Vary"] == "Accept-Encoding"
        assert plain_headers["Content-Type"] == "application/json; charset=utf-8"
        assert len(gzip.compress(plain)) < len(plain)

    async def test_a_change_by_another_writer_is_read_at_once(
        self, org_a: Caller, client: Client
    ) -> None:
        job_id = await org_a.started_job()
        _, before = await org_a.get(f"{BASE}/jobs/{job_id}")
        run_job(client, job_id, until="phase1")  # the store written directly, views waited for
        _, after = await org_a.get(f"{BASE}/jobs/{job_id}")
        assert after["job"]["version"] > before["job"]["version"]
        assert after["job"]["status"] != "in_progress"

    async def test_an_edit_is_read_by_the_next_get(self, org_a: Caller, client: Client) -> None:
        job_id = await org_a.started_job()
        run_job(client, job_id, failing={"websiteConfig"})
        await org_a.get(f"{BASE}/jobs/{job_id}")
        status, _ = await mark(org_a, job_id, "websiteConfig", "skipped")
        _, body = await org_a.get(f"{BASE}/jobs/{job_id}")
        phases = body["job"]["steps"][0]["sub_step_progress"]["phases"]
        found = {k: v["status"] for p in phases.values() for k, v in p["sub_steps"].items()}
        assert (status, found["websiteConfig"]) == (200, "skipped")

    async def test_another_organisation_never_gets_a_kept_answer(
        self, org_a: Caller, org_b: Caller
    ) -> None:
        job_id = await org_a.started_job()
        await org_a.get(f"{BASE}/jobs/{job_id}")
        status, body = await org_b.get(f"{BASE}/jobs/{job_id}")
        assert (status, body["success"]) == (404, False)

    async def test_erasure_drops_the_organisation_answers(
        self, org_a: Caller, org_b: Caller, client: Client
    ) -> None:
        mine, theirs = await org_a.started_job(), await org_b.started_job()
        await org_a.get(f"{BASE}/jobs/{mine}")
        await org_b.get(f"{BASE}/jobs/{theirs}")
        services = client.app[SERVICES]
        plan = erasure_plan(services.app, org_a.org, 1, 1)
        services.views.wait_for(erase_organisation(services.app, plan, "user:dpo"))
        assert services.answers.get(uuid.UUID(mine)) is None
        assert services.answers.get(uuid.UUID(theirs)) is not None

    async def test_nothing_is_kept_while_another_process_runs_the_views(
        self, org_a: Caller, client: Client
    ) -> None:
        services = client.app[SERVICES]
        job_id = await org_a.started_job()
        for supervisor in services.read_models.supervisors:  # type: ignore[union-attr]
            supervisor.active = False
        status, _ = await org_a.get(f"{BASE}/jobs/{job_id}")
        assert (status, len(services.answers)) == (200, 0)
