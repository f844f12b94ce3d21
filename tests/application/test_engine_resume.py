"""Resume at sub-step granularity, cancel, and retry-now, driven through the engine."""

from __future__ import annotations

from typing import Any

from domain.plan import PLAN
from domain.retry import RetryPolicy
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import (
    FAST,
    engine_and_simulator,
    event_names,
    faults,
    running_engine,
    simulator,
    start_batch,
)
from tests.kit import eventually, restaurants

ACTOR = "user:test"


def record_progress(
    app: Registrations,
    job_id: str,
    completed: list[str],
    failed: list[str] = (),  # type: ignore[assignment]
    results: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Record attempts as the engine would have: `completed` succeed, `failed` fail for good."""
    job = app.job(job_id)
    for key in (k for k in PLAN.order if k in completed or k in failed):
        job.start_sub_step(key)
        if key in failed:
            job.fail_sub_step(key, "HTTP 400: refused", transient=False)
        else:
            job.complete_sub_step(key, (results or {}).get(key, {"done": True}))
    app.store(job)


def stop(app: Registrations, job_id: str) -> None:
    """Stop the job (cancel it, or close it as failed when it is settled)."""
    job = app.job(job_id)
    if job.all_settled():
        job.finish()
    else:
        job.cancel(ACTOR, "paused for the test")
    app.store(job)


def called(sim: Any, job_id: str) -> list[str]:
    return sorted(c.sub_step for c in sim.calls if c.executed and c.job == job_id)


class TestResume:
    async def test_after_phase1_resume_starts_at_phase2(
        self, app: Registrations, settings: Settings
    ) -> None:
        [job_id] = start_batch(app, restaurants(1))
        record_progress(app, job_id, list(PLAN.in_phase("phase1")))
        stop(app, job_id)
        plan, _, _ = app.resume(None, job_id, ACTOR)
        assert plan is not None and (plan.resuming_from, plan.phase) == ("phase1", "phase2")
        async with engine_and_simulator(app, settings) as (sim, engine):
            assert await engine.run_until_idle(30)
        assert app.job(job_id).status == "completed"
        later = [k for p in ("phase2", "phase3", "phase4") for k in PLAN.in_phase(p)]
        assert called(sim, job_id) == sorted(later)

    async def test_only_the_failed_sub_step_and_its_dependents_run_again(
        self, app: Registrations, settings: Settings
    ) -> None:
        [job_id] = start_batch(app, restaurants(1))
        phase2 = [k for k in PLAN.in_phase("phase2") if k != "menuImport"]
        record_progress(app, job_id, list(PLAN.in_phase("phase1")) + phase2, ["menuImport"])
        stop(app, job_id)
        assert app.job(job_id).status == "failed"
        app.resume(None, job_id, ACTOR)
        async with engine_and_simulator(app, settings) as (sim, engine):
            assert await engine.run_until_idle(30)
        assert app.job(job_id).status == "completed"
        assert called(sim, job_id) == sorted(["menuImport", "optionSets", "itemTags"])

    async def test_resume_calls_with_the_context_rebuilt_from_events(
        self, app: Registrations, settings: Settings
    ) -> None:
        [job_id] = start_batch(app, restaurants(1))
        results = {"codeGeneration": {"codeInjectionId": "ci-42", "filePaths": ["a.html"]}}
        record_progress(app, job_id, list(PLAN.in_phase("phase1")), results=results)
        stop(app, job_id)
        app.resume(None, job_id, ACTOR)
        async with engine_and_simulator(app, settings) as (_, engine):
            assert await engine.run_until_idle(30)
        website = app.job(job_id).sub_steps["websiteConfig"]
        assert website.result["codeInjectionId"] == "ci-42"


class TestCancelAndRetryNow:
    async def test_cancel_stops_scheduling_and_records_calls_in_flight(
        self, app: Registrations, settings: Settings
    ) -> None:
        [job_id] = start_batch(app, restaurants(1))
        slow = {"restaurantRegistration": 0.5}
        async with engine_and_simulator(app, settings, latency=slow) as (sim, engine):
            await eventually(
                lambda: any(
                    (c.job, c.sub_step) == (job_id, "restaurantRegistration") for c in sim.calls
                )
            )
            app.cancel(None, job_id, ACTOR, "operator stop")
            engine.wake([job_id])
            assert await engine.run_until_idle(30)
        job = app.job(job_id)
        assert job.status == "cancelled"
        assert job.sub_steps["restaurantRegistration"].status == "completed"
        names = event_names(app, job_id)
        assert "SubStepStarted" not in names[names.index("JobCancelled") :]
        assert not {c.sub_step for c in sim.calls if c.job == job_id} & set(PLAN.in_phase("phase3"))

    async def test_retry_now_cuts_a_long_wait_short(
        self, app: Registrations, settings: Settings
    ) -> None:
        [job_id] = start_batch(app, restaurants(1))
        patient = RetryPolicy(initial_delay=3600, max_delay=3600, jitter=0)
        policies = {"*": FAST, "cloudwaitressAccount": patient}
        async with simulator() as (sim, url):
            # Only this job's call fails: other tests' jobs in progress on a shared store, which
            # this engine runs too, would otherwise wait the hour out and keep it from idling.
            faults(
                sim,
                {
                    "kind": "unavailable",
                    "endpoint": "cloudwaitressAccount",
                    "times": 1,
                    "job": job_id,
                },
            )
            async with running_engine(app, settings, url, policies=policies) as engine:
                await eventually(
                    lambda: app.job(job_id).sub_steps["cloudwaitressAccount"].status == "retrying"
                )
                app.retry_now(None, job_id, "cloudwaitressAccount", ACTOR)
                engine.wake([job_id])
                assert await engine.run_until_idle(30)
        assert app.job(job_id).status == "completed"
