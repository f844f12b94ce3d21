"""Running use cases: resume, cancel and retry-now of one job."""

from __future__ import annotations

from domain.preconditions import VersionsRead
from domain.progress_rules import ResumePlan
from infrastructure.tracing import traced_command
from infrastructure.usecases.store import RegistrationStore, Saved


class RunningCommands(RegistrationStore):
    """What an operator does to a job's run: resume it, cancel it, retry a waiting sub-step now."""

    @traced_command("resume")
    def resume(
        self,
        organisation_id: str | None,
        job_id: object,
        actor: str,
        reason: str | None = None,
        dry_run: bool = False,
        required: VersionsRead | None = None,
    ) -> tuple[ResumePlan, Saved, bool]:
        """Resume a stopped job; returns (the plan, saved, whether anything changed).

        A completed job changes nothing; neither does a dry run. With `required`, a job that
        stands at none of its versions is refused, a dry run's too.
        """
        if dry_run:
            job = self.job(job_id, organisation_id)
            if required is not None:
                required.require(job.version)
            return job.check_resume(), Saved(job.version, 0), False
        plan, job, saved = self.update_job(
            job_id, organisation_id, lambda j: j.resume(actor, reason), required=required
        )
        return plan, saved, bool(saved.events)

    @traced_command("cancel")
    def cancel(
        self,
        organisation_id: str | None,
        job_id: object,
        actor: str,
        reason: str | None,
        required: VersionsRead | None = None,
    ) -> Saved:
        return self.update_job(
            job_id, organisation_id, lambda j: j.cancel(actor, reason), required=required
        )[2]

    @traced_command("retry_now")
    def retry_now(
        self,
        organisation_id: str | None,
        job_id: object,
        key: str,
        actor: str,
        reason: str | None = None,
        required: VersionsRead | None = None,
    ) -> Saved:
        return self.update_job(
            job_id, organisation_id, lambda j: j.retry_now(key, actor, reason), required=required
        )[2]
