"""The use-case layer: one eventsourcing Application, a method per command.

`RegistrationStore` is the layer's storage: loading, saving with conflict retries, snapshots and
the mapper that seals secrets are one Application subclass of about 140 lines, so this module is
a little over 200; the commands are in the modules beside it, by use case.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, TypeVar, cast
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
    Repository,
)
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    EventStore,
    IntegrityError,
    JSONTranscoder,
    PersistenceError,
    Recording,
    StoredEvent,
    TranscodingNotRegisteredError,
)

from domain.batch import RegistrationBatch
from domain.exceptions import BatchNotFound, JobConflict, JobNotFound, NotFound
from domain.job import RegistrationJob
from domain.preconditions import VersionsRead
from domain.retry import COMMAND_CONFLICT_POLICY, STORAGE_WRITE_POLICY
from infrastructure.chain.unreadable import UNREADABLE, unreadable_log
from infrastructure.dropped_connections import connections_check
from infrastructure.event_store import RowEventStore, SnapshotAndEventsRepository
from infrastructure.keys.ring import Keyring
from infrastructure.keys.sealing import ERASURE_TOPIC, SealingMapper
from infrastructure.keys.table import KeyTable
from infrastructure.lease_reads import LeaseView, StoreLeases
from infrastructure.oplog import log_stored
from infrastructure.persistence import (
    APPLICATION_NAME,
    key_file,
    library_env,
    passphrase,
    schema_lock,
)
from infrastructure.recent_recordings import RecentRecordings
from infrastructure.settings import Settings
from infrastructure.storage_retry import AlreadyStored, StorageRetry
from infrastructure.tracing import found_in
from infrastructure.usecases.group_commit import GroupCommit
from infrastructure.usecases.keyed_locks import KeyedLocks
from infrastructure.usecases.snapshots import (
    SNAPSHOT_AFTER_READING,
    SNAPSHOT_EVERY,
    SNAPSHOT_TRANSCODINGS,
    CountingFold,
    due_snapshots,
    fold_events,
)

T = TypeVar("T")
A = TypeVar("A", RegistrationJob, RegistrationBatch)
log = logging.getLogger("regflow.storage")


class SnapshotsAsRead(Protocol):
    """What both stores' snapshot recorders offer a reader: insert unless that would mean
    waiting for the store's one writer (SQLite); True when inserted."""

    def insert_unless_busy(self, stored_events: Sequence[StoredEvent]) -> bool: ...


@dataclass(frozen=True)
class Saved:
    """What a command stored: the aggregate's new version and the log position reached."""

    version: int
    position: int
    events: list[Any] = field(default_factory=list)


def as_uuid(value: object, not_found: Callable[[object], Exception]) -> UUID:
    """`value` as a UUID, or the not-found error a malformed id deserves."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise not_found(value) from None


class RegistrationStore(Application[UUID]):
    """Loads and saves jobs and batches, with storage retries and conflict handling."""

    name = APPLICATION_NAME
    is_snapshotting_enabled = True
    snapshot_every = SNAPSHOT_EVERY
    snapshot_after_reading = SNAPSHOT_AFTER_READING

    def __init__(
        self,
        settings: Settings,
        sleep: Callable[[float], None] = time.sleep,
        leases: LeaseView | None = None,
    ) -> None:
        """`leases`: where edits look up a job's lease (by default the lease table beside the
        events, read on the store's connections)."""
        self.settings = settings
        self.key_table = KeyTable(settings)
        given, development = passphrase(settings)
        source = f"the development key file {key_file(settings)}" if development else None
        self.keyring = Keyring(self.key_table, given, source or "REGFLOW_SECRET_KEY")
        try:
            with schema_lock(settings):
                store_key = self.keyring.open_store_key()
                super().__init__(env=library_env(settings, store_key))
                # Keys the digests of create requests, which may hold secrets (never stored bare).
                self.request_key = hashlib.sha256(b"regflow: create requests" + store_key).digest()
                # Keys the tags of page cursors: every process of the store reads the others'.
                self.cursor_key = hmac.digest(store_key, b"regflow: page cursors", "sha256")
        except BaseException:
            self.key_table.close()
            raise
        self.sealing.keyring = self.keyring
        self.sealing.resolve_org = self._organisation_in_log
        self.storage_retry = StorageRetry(
            STORAGE_WRITE_POLICY,
            sleep=sleep,
            log=log,
            check_connections=connections_check(self.recorder),
        )
        self.group_commit = GroupCommit(self._write)
        self._sleep = sleep
        self._jitter = random.Random()
        # This process's commands of one job take turns: they never meet each other's change.
        self._job_turns = KeyedLocks()
        # What this process just committed, for its own views' runner to apply unread.
        self.recent = RecentRecordings(never={ERASURE_TOPIC})
        self.leases: LeaseView = leases or StoreLeases(self.recorder)

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        for transcoding in SNAPSHOT_TRANSCODINGS:
            transcoder.register(transcoding())

    def construct_mapper(self) -> SealingMapper:
        mapper = self.factory.mapper(self.construct_transcoder(), mapper_class=SealingMapper)
        assert isinstance(mapper, SealingMapper)
        return mapper

    def construct_event_store(self) -> EventStore[UUID]:
        return RowEventStore(mapper=self.mapper, recorder=self.recorder)

    def construct_repository(self) -> Repository[UUID]:
        """The library's repository, reading a job's snapshot and later events at once. It
        keeps no aggregates in memory: another process may have changed them since."""
        return SnapshotAndEventsRepository(event_store=self.events, snapshot_store=self.snapshots)

    @property
    def sealing(self) -> SealingMapper:
        assert isinstance(self.mapper, SealingMapper)
        return self.mapper

    def _organisation_is(self, originator_id: UUID, organisation_id: str) -> bool:
        """Whether the aggregate's first event names `organisation_id` (False when it cannot be
        read: a log changed there shows no one that it is theirs)."""
        try:
            return self._organisation_in_log(originator_id) == organisation_id
        except UNREADABLE as exc:
            if unreadable_log(exc) is None:
                raise
            return False

    def _organisation_in_log(self, originator_id: UUID) -> str | None:
        """The organisation of an aggregate, read from its first event."""
        for stored in self.recorder.select_events(originator_id, lte=1):
            org = vars(self.mapper.to_domain_event(stored)).get("organisation_id")
            return org if isinstance(org, str) else None
        return None

    def close(self) -> None:
        super().close()
        self.key_table.close()

    def job(self, job_id: object, organisation_id: str | None = None) -> RegistrationJob:
        """The job, if it exists and belongs to the organisation (None: any)."""
        return self._load(RegistrationJob, JobNotFound, job_id, organisation_id)

    def batch(self, batch_id: object, organisation_id: str | None = None) -> RegistrationBatch:
        """The batch, if it exists and belongs to the organisation (None: any)."""
        return self._load(RegistrationBatch, BatchNotFound, batch_id, organisation_id)

    def _load(
        self,
        kind: type[A],
        not_found: Callable[[object], NotFound],
        aggregate_id: object,
        organisation_id: str | None,
    ) -> A:
        """The aggregate of `kind`, if it exists and the organisation may see it."""
        fold = CountingFold()
        uuid = as_uuid(aggregate_id, not_found)
        try:
            found: Any = self.repository.get(uuid, projector_func=fold)
        except AggregateNotFoundError:
            raise not_found(aggregate_id) from None
        except UNREADABLE as exc:
            # A log changed by hand is said only to the organisation it belongs to (as its
            # first event says): to any other, the id names nothing, as an intact one's does.
            # (A storage error, which the same classes carry, is raised as it is.)
            changed = unreadable_log(exc) is not None
            if changed and organisation_id and not self._organisation_is(uuid, organisation_id):
                raise not_found(aggregate_id) from None
            raise
        if not isinstance(found, kind) or (
            organisation_id is not None and found.organisation_id != organisation_id
        ):
            raise not_found(aggregate_id)
        if isinstance(found, RegistrationJob):
            found_in(found.organisation_id, found.batch_id)
            if fold.events > self.snapshot_after_reading:
                self._snapshot_as_read(found)
        else:
            found_in(found.organisation_id, found.id)
        return found

    def _snapshot_as_read(self, job: RegistrationJob) -> None:
        """Store a snapshot of a job as just read, before any command changes it (best effort:
        a reader that stored the same version first wins, and a failed write costs nothing but
        the next reader's folding)."""
        snapshots = self.snapshots
        assert snapshots is not None
        self.sealing.remember(job.id, job.organisation_id)
        # On SQLite, while a write holds the one writer, the reader goes on without storing the
        # snapshot (the next reader stores it) rather than wait its turn.
        recorder = cast(SnapshotsAsRead, snapshots.recorder)
        stored = [snapshots.mapper.to_stored_event(RegistrationJob.Snapshot.take(job))]
        self._best_effort_snapshot(job.id, job.version, lambda: recorder.insert_unless_busy(stored))

    def store(self, *aggregates: Any, grouped: bool = False) -> Saved:
        """Save pending events of the aggregates in one transaction, retrying lost writes.

        `grouped`: the save may share its transaction with other threads' grouped saves (an
        operator's edits, from many API threads). The engine's saves are never grouped: the
        order in which they reach the log is what its flow control lets through.
        """
        for agg in aggregates:
            if isinstance(getattr(agg, "organisation_id", None), str):
                self.sealing.remember(agg.id, agg.organisation_id)
        events = [e for agg in aggregates for e in agg.collect_events()]
        if not events:
            version = aggregates[0].version if aggregates else 0
            return Saved(version, self.recorder.max_notification_id() or 0)
        recordings = self.group_commit.save(events) if grouped else self._write(events)
        if isinstance(recordings, list) and recordings:
            position = max(r.notification.id for r in recordings)
        else:
            position = self.recorder.max_notification_id() or 0
        log_stored(events)
        self.snapshot_long_jobs(events)
        return Saved(events[-1].originator_version, position, events)

    def snapshot_long_jobs(self, events: list[Any]) -> None:
        """Snapshot jobs these events took past a multiple of `snapshot_every` (best effort)."""
        for job_id, version in due_snapshots(events, self.snapshot_every).items():
            take = partial(self.take_snapshot, job_id, version=version, projector_func=fold_events)
            self._best_effort_snapshot(job_id, version, take)

    @staticmethod
    def _best_effort_snapshot(job_id: UUID, version: int, put: Callable[[], object]) -> None:
        """Store a snapshot with `put`; a failure costs later reads their folding, never the
        command or read that asked for it. Another writer that stored this version first wins."""
        try:
            put()
        except IntegrityError:
            pass
        except PersistenceError as exc:
            log.warning("job %s: no snapshot at version %d (%s)", job_id, version, exc)
        except TranscodingNotRegisteredError:
            # A defect, logged loudly; the events are stored, so the command stands.
            log.exception("job %s: its state cannot be snapshotted", job_id)

    def read(self, what: Callable[[], T], name: str) -> T:
        """`what()`, a read, tried again after a transient storage error (a dropped
        connection) as a write is: for callers with no loop of their own to try again."""
        found = self.storage_retry.run(what, name=name)
        assert not isinstance(found, AlreadyStored)  # only a write checks what was stored
        return found

    def _write(self, events: list[Any]) -> Any:
        """Save events in one transaction, retrying a write lost to the storage."""
        name = f"save {len(events)} events of {events[0].originator_id}"
        return self.storage_retry.run(
            lambda: self.save_events(events),
            name=name,
            was_stored=lambda: self.was_stored(events),
        )

    def save_events(self, events: list[Any]) -> list[Recording[UUID]]:
        """Store events already collected from their aggregates, in one transaction: the one
        write every command makes. The library's `save` would take them one by one and ask
        each whether it is a domain event (a runtime protocol check, some 7 µs an event)."""
        processing: ProcessingEvent[UUID] = ProcessingEvent()
        processing.events.extend(events)
        with self.recent.saving():
            recordings = self._record(processing)
            self.recent.add(recordings)
        self._notify(recordings)
        return recordings

    def was_stored(self, events: list[DomainEventProtocol[UUID]]) -> bool:
        """True when the first of `events` is in the store already (a commit lost in flight)."""
        first = events[0]
        stored = list(
            self.events.get(
                first.originator_id,
                gt=first.originator_version - 1,
                lte=first.originator_version,
            )
        )
        return bool(stored) and stored[0] == first

    def update_job(
        self,
        job_id: object,
        organisation_id: str | None,
        command: Callable[[RegistrationJob], T],
        grouped: bool = False,
        required: VersionsRead | None = None,
    ) -> tuple[T, RegistrationJob, Saved]:
        """Load, run `command`, save (`grouped`: see `store`); on a version conflict reload
        and run it again. The load is tried again after a transient storage error as the save
        is (a pool that waited out its connections while another process held SQLite's one
        writer failed the command, where its save would have waited its turn). A job that
        stands at none of the versions `required` names is refused before the command runs,
        on every attempt: a conflict means another writer moved it on."""
        with self._job_turns.held(str(job_id).strip().lower()):
            for _ in self.conflict_attempts():
                job = self.read(lambda: self.job(job_id, organisation_id), f"load job {job_id}")
                if required is not None:
                    required.require(job.version)
                outcome = command(job)
                try:
                    return outcome, job, self.store(job, grouped=grouped)
                except IntegrityError:
                    log.info("job %s changed under a command; loading it again", job_id)
        raise JobConflict(f"Job {job_id} is being changed by another writer; try again")

    def conflict_attempts(self) -> Iterator[int]:
        """The attempts of a command that may meet another writer's change (another process's
        command of the same aggregate): numbered from 1, each after `COMMAND_CONFLICT_POLICY`'s
        jittered wait, so that the two writers do not meet again."""
        for attempt in range(1, COMMAND_CONFLICT_POLICY.max_attempts + 1):
            if attempt > 1:
                fraction = self._jitter.random()
                self._sleep(COMMAND_CONFLICT_POLICY.delay_before(attempt - 1, fraction))
            yield attempt
