"""Batches over HTTP: create, list, read, progress, start."""

from __future__ import annotations

import uuid

import pytest

from tests.api.conftest import BASE, PASSWORD, Caller, refused_for, restaurant


class TestCreateBatch:
    async def test_answers_201_with_pending_jobs(self, org_a: Caller) -> None:
        status, body = await org_a.post(
            BASE, json={"name": "Week 48", "restaurants": [restaurant("Buzz"), restaurant("Fizz")]}
        )
        assert status == 201
        assert body["success"] is True
        assert body["batch"]["status"] == "pending"
        assert [j["restaurant"]["name"] for j in body["batch"]["jobs"]] == ["Buzz", "Fizz"]
        assert {j["status"] for j in body["batch"]["jobs"]} == {"pending"}
        assert PASSWORD not in str(body)

    async def test_missing_name_is_422_per_field(self, org_a: Caller) -> None:
        status, body = await org_a.post(BASE, json={"restaurants": [restaurant()]})
        assert status == 422
        assert body["success"] is False
        assert any(e.startswith("name:") for e in body["errors"])

    @pytest.mark.parametrize("blank", ["   ", "\t\n", "\u00a0", "\u200b\u200b", "\u202e", "\u0301"])
    async def test_a_restaurant_name_that_shows_nothing_is_refused(
        self, org_a: Caller, blank: str
    ) -> None:
        """It was registered as sent: a blank restaurant no list could tell apart."""
        _, listed = await org_a.get(BASE)
        named = [restaurant("Fine"), restaurant() | {"name": blank}]
        status, body = await org_a.post(BASE, json={"name": "b", "restaurants": named})
        assert status == 422
        assert [e.split(":")[0] for e in body["errors"]] == ["restaurants[1].name"]
        assert (await org_a.get(BASE))[1]["batches"] == listed["batches"]

    @pytest.mark.parametrize("blank", ["   ", "\t\n", "\u00a0", "\u200b\u200b", "\u202e", "\u0301"])
    @pytest.mark.parametrize("sent", ["json", "csv"])
    async def test_a_batch_name_that_shows_nothing_is_refused(
        self, org_a: Caller, blank: str, sent: str
    ) -> None:
        """A restaurant's was refused, a batch's was taken: a batch no list could tell apart."""
        _, listed = await org_a.get(BASE)
        if sent == "json":
            answer = await org_a.post(BASE, json={"name": blank, "restaurants": [restaurant()]})
        else:
            headers = {"Content-Type": "text/csv"}
            answer = await org_a.post(
                BASE, params={"name": blank}, data=b"name\nA\n", headers=headers
            )
        status, body = answer
        assert status == 422, body
        shows = "name: must show something"
        asked = "name: pass ?name=" if sent == "csv" and not blank.strip() else shows
        assert body["errors"][0].startswith(asked), body
        assert (await org_a.get(BASE))[1]["batches"] == listed["batches"]

    async def test_bad_email_names_the_restaurant(self, org_a: Caller) -> None:
        bad = restaurant(account={"email": "not-an-email"})
        status, body = await org_a.post(BASE, json={"name": "x", "restaurants": [bad]})
        assert status == 422
        assert any("restaurants[0]" in e and "email" in e for e in body["errors"])

    async def test_no_restaurants_is_422(self, org_a: Caller) -> None:
        status, body = await org_a.post(BASE, json={"name": "x", "restaurants": []})
        assert status == 422

    async def test_malformed_json_is_400(self, org_a: Caller) -> None:
        status, body = await org_a.post(
            BASE, data=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert status == 400
        assert body == {
            "success": False,
            "message": "Malformed JSON",
            "errors": ["body: not valid JSON"],
        }

    async def test_deeply_nested_json_is_400(self, org_a: Caller) -> None:
        deep = b"[" * 100_000 + b"]" * 100_000
        status, body = await org_a.post(
            BASE, data=deep, headers={"Content-Type": "application/json"}
        )
        assert (status, body["errors"]) == (400, ["body: nested too deeply"])

    @pytest.mark.parametrize("digits", [4301, 20_000])
    @pytest.mark.parametrize("sent", ["json", "ndjson"])
    async def test_a_number_too_long_to_read_is_400_saying_so(
        self, org_a: Caller, digits: int, sent: str
    ) -> None:
        """It was valid JSON answered as "not valid JSON"; 4,300 digits are still read."""
        _, listed = await org_a.get(BASE)
        item = '{"name": "Buzz", "seats": NUMBER}'
        if sent == "json":
            body = '{"name": "b", "restaurants": [ITEM]}'.replace("ITEM", item).encode()
            headers, place = {"Content-Type": "application/json"}, "body"
        else:
            body, place = item.encode(), "line 1"
            headers = {"Content-Type": "application/x-ndjson"}
        too_long = body.replace(b"NUMBER", b"9" * digits)
        status, answer = await org_a.post(
            BASE, params={"name": "b"}, data=too_long, headers=headers
        )
        assert status == (400 if sent == "json" else 422), answer
        assert answer["errors"] == [f"{place}: a number of more than 4300 digits"]
        assert (await org_a.get(BASE))[1]["batches"] == listed["batches"]
        kept = body.replace(b"NUMBER", b"9" * 4300)
        status, made = await org_a.post(BASE, params={"name": "b"}, data=kept, headers=headers)
        assert status == 201, made

    async def test_missing_body_is_400(self, org_a: Caller) -> None:
        status, body = await org_a.post(BASE)
        assert status == 400

    async def test_numbers_beyond_64_bits_are_kept_and_shown(self, org_a: Caller) -> None:
        huge = 2**70
        batch = await org_a.new_batch(restaurant() | {"seats": huge})
        status, body = await org_a.get(f"{BASE}/jobs/{batch['jobs'][0]['id']}")
        assert status == 200 and body["job"]["restaurant"]["seats"] == huge

    @pytest.mark.parametrize("huge", [2**70, -(2**63) - 1, 2**64, 10**29])
    async def test_numbers_beyond_64_bits_are_the_same_on_every_surface(
        self, org_a: Caller, huge: int
    ) -> None:
        """In an open field and in a sealed one (a card pin is a secret): stored, shown by the
        job and its events as sent. The events answer read them back as floats, and a sealed
        one failed the batch's creation."""
        config = {"extra": {"v": huge, "deep": [{"n": huge}]}, "payment": {"card_pin": huge}}
        made = restaurant() | {"seats": huge}
        made["execution_config"] = made["execution_config"] | config
        batch = await org_a.new_batch(made)
        job_id = batch["jobs"][0]["id"]
        _, events = await org_a.get(f"{BASE}/jobs/{job_id}/events")
        created = events["events"][0]["data"]
        assert created["execution_config"]["extra"] == {"v": huge, "deep": [{"n": huge}]}
        assert created["restaurant"]["seats"] == huge
        _, shown = await org_a.get(f"{BASE}/jobs/{job_id}")
        assert shown["job"]["restaurant"]["seats"] == huge
        _, state = await org_a.get(f"{BASE}/jobs/{job_id}/state")
        assert state["success"] is True


class TestReadBatches:
    async def test_list_shows_own_batches_newest_first(self, org_a: Caller) -> None:
        first, second = await org_a.new_batch(), await org_a.new_batch()
        status, body = await org_a.get(BASE, params={"limit": "2"})
        assert status == 200
        assert [b["id"] for b in body["batches"]] == [second["id"], first["id"]]

    async def test_list_pages_with_offset(self, org_a: Caller) -> None:
        first = await org_a.new_batch()
        await org_a.new_batch()
        status, body = await org_a.get(BASE + "/", params={"limit": "1", "offset": "1"})
        assert status == 200
        assert [b["id"] for b in body["batches"]] == [first["id"]]

    @pytest.mark.parametrize("limit", [1, 2, 3])
    async def test_paging_after_a_cursor_shows_each_batch_once_while_batches_are_made(
        self, org_a: Caller, limit: int
    ) -> None:
        """By offset, a batch made between two reads moved every later batch a place down, and
        the next page showed again the last one of the page before."""
        there = [(await org_a.new_batch())["id"] for _ in range(5)][::-1]
        seen: list[str] = []
        params: dict[str, str] = {"limit": str(limit)}
        for _ in range(10):
            status, body = await org_a.get(BASE, params=params)
            assert status == 200, body
            seen += [b["id"] for b in body["batches"]]
            if body["next_after"] is None:
                break
            await org_a.new_batch()
            params = {"limit": str(limit), "after": body["next_after"]}
        assert seen == there

    async def test_a_cursor_is_read_only_on_its_own_organisations_batch_list(
        self, org_a: Caller, org_b: Caller
    ) -> None:
        batch = await org_a.new_batch(restaurant("A"), restaurant("B"))
        await org_a.new_batch()
        await org_b.new_batch(), await org_b.new_batch()
        _, listed = await org_a.get(BASE, params={"limit": "1"})
        _, jobs = await org_a.get(f"{BASE}/{batch['id']}/jobs", params={"limit": "1"})
        cursor, jobs_cursor = listed["next_after"], jobs["next_after"]
        assert cursor and jobs_cursor
        refused_for(await org_b.get(BASE, params={"after": cursor}), 400, "after")
        refused_for(await org_a.get(BASE, params={"after": jobs_cursor}), 400, "after")
        refused_for(
            await org_a.get(f"{BASE}/{batch['id']}/jobs", params={"after": cursor}), 400, "after"
        )
        status, body = await org_a.get(BASE, params={"after": cursor, "offset": "1"})
        assert status == 400 and "after and offset" in body["errors"][0], body
        status, body = await org_a.get(BASE, params={"after": cursor})
        assert status == 200 and body["batches"][0]["id"] == batch["id"]

    async def test_bad_limit_is_400(self, org_a: Caller) -> None:
        refused_for(await org_a.get(BASE, params={"limit": "many"}), 400, "limit")

    async def test_get_batch_lists_its_jobs(self, org_a: Caller) -> None:
        batch = await org_a.new_batch(restaurant("A"), restaurant("B"))
        status, body = await org_a.get(f"{BASE}/{batch['id']}")
        assert status == 200
        assert [j["id"] for j in body["batch"]["jobs"]] == [j["id"] for j in batch["jobs"]]

    async def test_unknown_and_malformed_batch_ids_are_404(self, org_a: Caller) -> None:
        for batch_id in (str(uuid.uuid4()), "not-a-uuid"):
            status, body = await org_a.get(f"{BASE}/{batch_id}")
            assert (status, body["success"]) == (404, False)

    async def test_progress_has_exact_counters(self, org_a: Caller) -> None:
        batch = await org_a.new_batch(restaurant("A"), restaurant("B"))
        status, body = await org_a.get(f"{BASE}/{batch['id']}/progress")
        assert status == 200
        assert {k: body[k] for k in ("total", "pending", "completed", "failed", "in_progress")} == {
            "total": 2,
            "pending": 2,
            "completed": 0,
            "failed": 0,
            "in_progress": 0,
        }
        assert body["percent"] == 0
        assert {j["name"] for j in body["jobs"]} == {"A", "B"}

    async def test_progress_counters_add_up_to_the_total(self, org_a: Caller) -> None:
        """Cancelled jobs are counted too: a batch whose only job was cancelled read total 1,
        every counter 0 and percent 100."""
        batch = await org_a.new_batch(restaurant("A"), restaurant("B"), restaurant("C"))
        ids = [j["id"] for j in batch["jobs"]]
        await org_a.post(f"{BASE}/{batch['id']}/step-6/start", json={"job_ids": ids[:2]})
        await org_a.post(f"{BASE}/jobs/{ids[0]}/cancel", json={"reason": "r"})
        _, body = await org_a.get(f"{BASE}/{batch['id']}/progress")
        counted = ("completed", "failed", "in_progress", "pending", "cancelled")
        assert {k: body[k] for k in counted} == {
            "completed": 0, "failed": 0, "in_progress": 1, "pending": 1, "cancelled": 1,
        }  # fmt: skip
        assert sum(body[k] for k in counted) == body["total"] == 3


class TestStartStep6:
    async def test_starts_every_job_with_202(self, org_a: Caller) -> None:
        batch = await org_a.new_batch(restaurant("A"), restaurant("B"))
        status, body = await org_a.post(f"{BASE}/{batch['id']}/step-6/start")
        assert status == 202
        assert sorted(body["started"]) == sorted(j["id"] for j in batch["jobs"])
        _, progress = await org_a.get(f"{BASE}/{batch['id']}/progress")
        assert progress["in_progress"] == 2

    async def test_starts_only_selected_jobs(self, org_a: Caller) -> None:
        batch = await org_a.new_batch(restaurant("A"), restaurant("B"))
        chosen = batch["jobs"][1]["id"]
        status, body = await org_a.post(
            f"{BASE}/{batch['id']}/step-6/start", json={"job_ids": [chosen]}
        )
        assert (status, body["started"]) == (202, [chosen])

    @pytest.mark.parametrize("picked", [(), (0,), (2,), (0, 1), (1, 2), (0, 1, 2), (1, 1)])
    async def test_a_selection_starts_exactly_its_jobs(
        self, org_a: Caller, picked: tuple[int, ...]
    ) -> None:
        """Every subset of a batch's jobs, the empty one included: an empty selection (nothing
        ticked, a filter that matched nothing) starts nothing, where it started every job."""
        batch = await org_a.new_batch(restaurant("A"), restaurant("B"), restaurant("C"))
        ids = [j["id"] for j in batch["jobs"]]
        chosen = [ids[i] for i in picked]
        status, body = await org_a.post(
            f"{BASE}/{batch['id']}/step-6/start", json={"job_ids": chosen}
        )
        _, progress = await org_a.get(f"{BASE}/{batch['id']}/progress")
        if not chosen:
            assert status == 422 and body["errors"] == [
                "job_ids: name at least one job, or leave job_ids out to start every job"
            ]
            assert progress["in_progress"] == 0
            return
        assert (status, sorted(body["started"])) == (202, sorted(set(chosen)))
        assert progress["in_progress"] == len(set(chosen))

    async def test_reports_jobs_already_started(self, org_a: Caller) -> None:
        batch = await org_a.new_batch()
        await org_a.post(f"{BASE}/{batch['id']}/step-6/start")
        status, body = await org_a.post(f"{BASE}/{batch['id']}/step-6/start")
        assert status == 202
        assert (body["started"], body["already_started"]) == ([], [batch["jobs"][0]["id"]])

    async def test_job_of_another_batch_is_422(self, org_a: Caller) -> None:
        batch, other = await org_a.new_batch(), await org_a.new_batch()
        stranger = other["jobs"][0]["id"]
        status, body = await org_a.post(
            f"{BASE}/{batch['id']}/step-6/start", json={"job_ids": [stranger]}
        )
        assert status == 422
        assert body["errors"] == [f"Job {stranger} is not in this batch"]

    async def test_unknown_batch_is_404(self, org_a: Caller) -> None:
        status, _ = await org_a.post(f"{BASE}/{uuid.uuid4()}/step-6/start")
        assert status == 404
