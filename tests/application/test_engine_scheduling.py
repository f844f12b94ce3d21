"""The engine runs phases in order, a phase's sub-steps concurrently, and blocks only dependents."""

from __future__ import annotations

from domain.plan import PLAN
from infrastructure.engine.work_source import ChosenJobsSource
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import (
    engine_and_simulator,
    faults,
    start_batch,
)
from tests.kit import full_config, restaurants


def executed_keys(sim, job_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.sub_step for c in sim.calls if c.executed and c.job == job_id]


class TestScheduling:
    async def test_batch_runs_every_sub_step_once(
        self, app: Registrations, settings: Settings
    ) -> None:
        job_ids = start_batch(app, restaurants(3))
        async with engine_and_simulator(app, settings) as (sim, engine):
            assert await engine.run_until_idle(30)
        for job_id in job_ids:
            job = app.job(job_id)
            assert job.status == "completed"
            assert sorted(executed_keys(sim, job_id)) == sorted(PLAN.keys)

    async def test_phases_run_in_order(self, app: Registrations, settings: Settings) -> None:
        [job_id] = start_batch(app, restaurants(1))
        async with engine_and_simulator(app, settings, latency={"*": 0.02}) as (sim, engine):
            assert await engine.run_until_idle(30)
        calls = [c for c in sim.calls if c.job == job_id]
        for earlier, later in zip(PLAN.phases, PLAN.phases[1:], strict=False):
            last_end = max(c.finished for c in calls if PLAN.phase_of(c.sub_step) == earlier)
            first_start = min(c.started for c in calls if PLAN.phase_of(c.sub_step) == later)
            assert last_end <= first_start

    async def test_sub_steps_of_a_phase_run_concurrently(
        self, app: Registrations, settings: Settings
    ) -> None:
        [job_id] = start_batch(app, restaurants(1))
        # Its own job only: other tests' jobs in progress on a shared store took the engine's
        # places for calls, and their phase 1 calls ran after this one's.
        source = ChosenJobsSource(app, [job_id])
        slow = {"*": 0.2}
        async with engine_and_simulator(app, settings, slow, work_source=source) as (sim, engine):
            assert await engine.run_until_idle(30)
        calls = [c for c in sim.calls if c.job == job_id]
        phase1 = [c for c in calls if PLAN.phase_of(c.sub_step) == "phase1"]
        assert len(phase1) == len(PLAN.in_phase("phase1"))
        assert max(c.started for c in phase1) < min(c.finished for c in phase1)

    async def test_a_failed_sub_step_blocks_only_its_dependents(
        self, app: Registrations, settings: Settings
    ) -> None:
        [job_id] = start_batch(app, restaurants(1))
        async with engine_and_simulator(app, settings) as (sim, engine):
            faults(sim, {"kind": "bad_request", "endpoint": "menuImport"})
            assert await engine.run_until_idle(30)
        job = app.job(job_id)
        assert job.status == "failed"
        shown = job.shown_statuses()
        assert shown["menuImport"] == "failed"
        assert shown["optionSets"] == shown["itemTags"] == "blocked"
        others = set(PLAN.keys) - {"menuImport", "optionSets", "itemTags"}
        assert {shown[k] for k in others} == {"completed"}
        assert "optionSets" not in executed_keys(sim, job_id)

    async def test_disabled_sub_steps_are_skipped_not_called(
        self, app: Registrations, settings: Settings
    ) -> None:
        config = full_config(payment={"enabled": False})
        config.pop("onboarding_user")
        items = [{"name": "NoPay", "execution_config": config}]
        [job_id] = start_batch(app, items)
        async with engine_and_simulator(app, settings) as (sim, engine):
            assert await engine.run_until_idle(30)
        job = app.job(job_id)
        skipped = {"paymentConfig", "createOnboardingUser", "syncOnboardingUser"}
        assert job.status == "completed"
        assert {k for k, s in job.sub_steps.items() if s.status == "skipped"} == skipped
        assert not skipped & set(executed_keys(sim, job_id))

    async def test_transient_errors_are_retried_then_fail_after_the_attempts(
        self, app: Registrations, settings: Settings
    ) -> None:
        [job_id] = start_batch(app, restaurants(1))
        async with engine_and_simulator(app, settings) as (sim, engine):
            faults(
                sim,
                {"kind": "unavailable", "endpoint": "codeGeneration", "times": 2},
                {"kind": "cloudflare", "endpoint": "servicesConfig"},
            )
            assert await engine.run_until_idle(30)
        job = app.job(job_id)
        assert job.sub_steps["codeGeneration"].status == "completed"
        assert job.sub_steps["codeGeneration"].attempts == 3
        assert job.sub_steps["servicesConfig"].status == "failed"
        assert job.sub_steps["servicesConfig"].error.startswith("Cloudflare:")
        assert job.sub_steps["servicesConfig"].run_attempts == 3
