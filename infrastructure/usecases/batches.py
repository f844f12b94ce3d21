"""Batch use cases: creating a batch, starting Step 6, importing jobs from the old system."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError
from pydantic import ValidationError

from domain.batch import RegistrationBatch, repeated_external_ids
from domain.exceptions import (
    ERASED_REQUEST,
    BatchNotFound,
    IdempotencyKeyReused,
    InvalidInput,
    JobConflict,
    JobNotFound,
    quoted_key,
)
from domain.execution_config import ExecutionConfig, Restaurant
from domain.field_paths import field_path
from domain.job import RegistrationJob
from domain.limits import (
    MAX_NAME,
    credential_names,
    nesting_error,
    organisation_errors,
    readable,
    text_errors,
    unstorable_message,
    unstorable_text,
)
from domain.path_segments import path_value_errors
from domain.secret_words import scrub_text
from domain.secrets import ERASED
from domain.status import JobStatus
from infrastructure.tracing import traced_command
from infrastructure.usecases.bulk import load_many
from infrastructure.usecases.idempotency import checked_idempotency_key, keyed_digest
from infrastructure.usecases.snapshots import fold_events
from infrastructure.usecases.store import (
    RegistrationStore,
    Saved,
    as_uuid,
    log,
)


def _cancelled_before_start(job: RegistrationJob) -> bool:
    return job.status == JobStatus.CANCELLED and not job.step6_started


@dataclass(frozen=True)
class StartOutcome:
    started: list[str]
    already_started: list[str] = field(default_factory=list)
    position: int = 0
    # Jobs cancelled before their Step 6 started, left as they are by a start of the whole
    # batch (a start or resume that names one starts it).
    left_cancelled: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LegacyEntry:
    """One job exported from the old system: its id, restaurant and Step 6 progress."""

    job_id: UUID
    restaurant: dict[str, Any]
    sub_steps: dict[str, dict[str, Any]]
    context: dict[str, Any] | None


@dataclass(frozen=True)
class BatchOpened:
    """A batch as its create request answers it: made now, or (`replayed`) found already made
    by an earlier request with the same idempotency key and the same content."""

    batch: RegistrationBatch
    jobs: list[dict[str, Any]]  # each job's id, restaurant and status as at creation
    position: int
    replayed: bool = False


MAX_REPORTED_ERRORS = 100


def request_digest(key: bytes, name: str, restaurants: list[dict[str, Any]]) -> str:
    """A keyed digest of a create request's content: its name and restaurants as parsed."""
    return keyed_digest(key, [name, restaurants])


def validated_restaurants(
    restaurants: list[dict[str, Any]], labels: list[str] | None = None
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Every restaurant checked; InvalidInput lists the errors of all of them (the first 100)."""
    checked, errors = [], []
    for index, restaurant in enumerate(restaurants):
        try:
            checked.append(validated_restaurant(restaurant, labels[index] if labels else index))
        except InvalidInput as exc:
            errors.extend(exc.errors)
    errors += _repeated_external_id_errors(restaurants, labels)
    if errors:
        more = len(errors) - MAX_REPORTED_ERRORS
        shown = errors[:MAX_REPORTED_ERRORS] + ([f"... and {more} more"] if more > 0 else [])
        raise InvalidInput("Invalid restaurants: nothing was created", shown)
    return checked


def _repeated_external_id_errors(
    restaurants: list[dict[str, Any]], labels: list[str] | None
) -> list[str]:
    """Each restaurant whose external_id an earlier one of the batch has, naming both."""

    def named(i: int) -> tuple[str, str]:
        return (labels[i].removesuffix(": "), ": ") if labels else (f"restaurants[{i}]", ".")

    errors = []
    for later, first in repeated_external_ids(restaurants):
        (name, sep), (earlier, _) = named(later), named(first)
        errors.append(
            f"{name}{sep}external_id: the same as {earlier}'s; an external id names one "
            "restaurant of a batch"
        )
    return errors


def validated_restaurant(
    restaurant: dict[str, Any], index: int | str | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The restaurant's summary and execution_config, checked; InvalidInput names each bad field
    of both by its path (after `restaurants[index].`, or after `index` itself when it is a
    label such as a row): `name`, `execution_config.skip`."""
    config = dict(restaurant.get("execution_config") or {})
    summary = {k: v for k, v in restaurant.items() if k != "execution_config"}
    where = "" if index is None else f"restaurants[{index}]." if isinstance(index, int) else index
    too_deep = [
        error
        for value, part in ((summary, "restaurant"), (config, "execution_config"))
        if (error := nesting_error(value, where + part)) is not None
    ]
    if too_deep:
        raise InvalidInput("Invalid restaurant", too_deep)
    unstorable = unstorable_text(summary, "") + unstorable_text(config, "execution_config")
    if unstorable:
        found = [f"{where}{error}" for error in unstorable]
        raise InvalidInput(unstorable_message(unstorable), found)
    if named := credential_names(summary, "") + credential_names(config, "execution_config"):
        raise InvalidInput("Invalid restaurant", [f"{where}{error}" for error in named])
    errors: list[str] = []
    try:
        checked = Restaurant.model_validate(summary).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        errors += _located(exc, where)
    try:
        config = ExecutionConfig.model_validate(config).model_dump(mode="json", exclude_unset=True)
    except ValidationError as exc:
        errors += _located(exc, f"{where}execution_config.")
    errors += [f"{where}execution_config.{e}" for e in path_value_errors(config)]
    if errors:
        raise InvalidInput("Invalid restaurant", errors)
    return checked, config


def _located(exc: ValidationError, where: str) -> list[str]:
    """Each error of a model's validation, named by its field's path from `where`; a message
    quoting what was sent (`skip names unknown sub-steps: ...`) masked as every shown text is."""
    return [f"{where}{field_path(e['loc'])}: {scrub_text(e['msg'])}" for e in exc.errors()]


def _created_line(job: RegistrationJob) -> dict[str, Any]:
    return {"id": str(job.id), "restaurant": job.restaurant, "status": job.status}


class BatchCommands(RegistrationStore):
    """Create batches, start their jobs, record jobs imported from the old system."""

    @traced_command("create_batch", made=lambda made: {"batch_id": made[0].id})
    def create_batch(
        self,
        organisation_id: str,
        actor: str,
        name: str,
        restaurants: list[dict[str, Any]],
        labels: list[str] | None = None,
        batch_id: UUID | None = None,
        request_digest: str | None = None,
    ) -> tuple[RegistrationBatch, list[RegistrationJob], Saved]:
        """A batch with one pending job per restaurant, stored in one transaction (10,000
        jobs save in a few seconds, so a batch is never left half-created); errors name each
        restaurant by index, or by its label (an upload's row). IntegrityError when a batch
        `batch_id` exists."""
        if org_errors := organisation_errors(organisation_id):
            raise InvalidInput("Invalid organisation", org_errors)
        if not readable(name):
            shows = "name: must show something, not only spaces or invisible characters"
            raise InvalidInput("A batch needs a name", [shows])
        if name_errors := text_errors(name, "name", MAX_NAME):
            raise InvalidInput("Invalid batch name", name_errors)
        if not restaurants:
            raise InvalidInput("A batch needs at least one restaurant")
        checked = validated_restaurants(restaurants, labels)
        batch_id = batch_id or RegistrationBatch.create_id()
        jobs = [
            RegistrationJob.register(batch_id, organisation_id, summary, config, actor)
            for summary, config in checked
        ]
        summaries = [{"id": str(j.id), "restaurant": j.restaurant} for j in jobs]
        batch = RegistrationBatch.open(
            organisation_id, name.strip(), summaries, actor, batch_id, request_digest
        )
        return batch, jobs, self.store(batch, *jobs)

    def open_batch(
        self,
        organisation_id: str,
        actor: str,
        name: str,
        restaurants: list[dict[str, Any]],
        labels: list[str] | None = None,
        idempotency_key: str | None = None,
    ) -> BatchOpened:
        """`create_batch`, once per idempotency key: a request that repeats an earlier one's
        key and content (a client retrying after a lost answer, or two retries at once) gets
        that batch back; one that reuses the key for other content is refused."""
        batch_id = digest = None
        if idempotency_key is not None:
            key = checked_idempotency_key(idempotency_key)
            batch_id = RegistrationBatch.id_for_request(organisation_id, key)
            digest = request_digest(self.request_key, name.strip(), restaurants)
        try:
            batch, jobs, saved = self.create_batch(
                organisation_id, actor, name, restaurants, labels, batch_id, digest
            )
        except IntegrityError:
            if batch_id is None or digest is None:
                raise
            return self._opened_earlier(organisation_id, key, batch_id, digest)
        return BatchOpened(batch, [_created_line(j) for j in jobs], saved.position)

    def _opened_earlier(
        self, organisation_id: str, key: str, batch_id: UUID, digest: str
    ) -> BatchOpened:
        """The batch an earlier request with this key opened, if its content was the same."""
        try:
            earlier = self.batch(batch_id, organisation_id)
        except BatchNotFound:
            raise JobConflict(
                "A batch is being created with this Idempotency-Key; try again",
                [quoted_key(key)],
            ) from None
        if earlier.request_digest == ERASED:
            raise IdempotencyKeyReused(ERASED_REQUEST, [quoted_key(key)])
        if not hmac.compare_digest(earlier.request_digest or "", digest):
            raise IdempotencyKeyReused(
                "This Idempotency-Key was used for a different batch; nothing was created",
                [f"{quoted_key(key)} created batch {earlier.id} from other content"],
            )
        lines = [j | {"status": "pending"} for j in earlier.jobs]
        return BatchOpened(earlier, lines, self.recorder.max_notification_id() or 0, True)

    @traced_command("start_step6")
    def start_step6(
        self, organisation_id: str | None, batch_id: object, job_ids: list[str] | None, actor: str
    ) -> StartOutcome:
        """Start Step 6 for all jobs of a batch, or the selected ones.

        Two starts of one batch at once: the later one reloads and finds the jobs started.
        """
        for _ in self.conflict_attempts():
            try:
                return self._start_once(organisation_id, batch_id, job_ids, actor)
            except IntegrityError:
                log.info("batch %s started by another request; reloading", batch_id)
        message = f"Batch {batch_id} is being started by another request; try again"
        raise JobConflict(message, [message])

    def _start_once(
        self, organisation_id: str | None, batch_id: object, job_ids: list[str] | None, actor: str
    ) -> StartOutcome:
        batch = self.batch(batch_id, organisation_id)
        if job_ids is not None and not job_ids:
            # An empty selection (nothing ticked, a filter that matched nothing) starts nothing
            # by mistake rather than every job of the batch.
            message = "job_ids: name at least one job, or leave job_ids out to start every job"
            raise InvalidInput("No job chosen", [message])
        members = {str(j) for j in batch.job_ids}
        chosen = (
            [str(j) for j in job_ids] if job_ids is not None else [str(j) for j in batch.job_ids]
        )
        strangers = [j for j in chosen if j not in members]
        if strangers:
            raise InvalidInput(
                "Some jobs are not in this batch",
                [f"Job {scrub_text(j)} is not in this batch" for j in strangers],
            )
        jobs = self.jobs(list(dict.fromkeys(chosen)))
        left = [] if job_ids is not None else [j for j in jobs if _cancelled_before_start(j)]
        left_ids = {j.id for j in left}
        fresh = [j for j in jobs if not j.step6_started and j.id not in left_ids]
        if fresh:
            # A start that finds every job started records nothing: concurrent repeats of
            # it then cannot conflict with each other on the batch. The request comes first,
            # in time as in the log: each job's start follows from it.
            batch.request_start([j.id for j in fresh], actor)
        for job in fresh:
            job.start_step6(actor)
        saved = self.store(batch, *fresh)
        fresh_ids = {j.id for j in fresh}
        already = [str(j.id) for j in jobs if j.id not in fresh_ids | left_ids]
        started = [str(j.id) for j in fresh]
        return StartOutcome(started, already, saved.position, [str(j.id) for j in left])

    def jobs(self, job_ids: list[str]) -> list[RegistrationJob]:
        """The jobs, in the order given, read together (a few queries for thousands, not two
        a job); JobNotFound names the first that does not exist."""
        ids = [as_uuid(j, JobNotFound) for j in job_ids]
        found = load_many(self, ids, fold_events)
        jobs = []
        for given, job_id in zip(job_ids, ids, strict=True):
            job = found.get(job_id)
            if not isinstance(job, RegistrationJob):
                raise JobNotFound(given)
            jobs.append(job)
        return jobs

    @traced_command("import_legacy")
    def import_legacy(
        self, organisation_id: str, batch_name: str, entries: list[LegacyEntry], actor: str
    ) -> tuple[RegistrationBatch, list[RegistrationJob], Saved]:
        """Record jobs exported from the old system as one batch, with their progress as events."""
        batch_id = RegistrationBatch.create_id()
        jobs = [self._legacy_job(batch_id, organisation_id, entry, actor) for entry in entries]
        summaries = [{"id": str(j.id), "restaurant": j.restaurant} for j in jobs]
        batch = RegistrationBatch.open(organisation_id, batch_name, summaries, actor, batch_id)
        return batch, jobs, self.store(batch, *jobs)

    @staticmethod
    def _legacy_job(
        batch_id: UUID, organisation_id: str, entry: LegacyEntry, actor: str
    ) -> RegistrationJob:
        summary, config = validated_restaurant(entry.restaurant)
        job = RegistrationJob.register(
            batch_id, organisation_id, summary, config, actor, job_id=entry.job_id
        )
        job.import_legacy(entry.sub_steps, entry.context, actor)
        return job
