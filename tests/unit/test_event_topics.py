"""Stored job events name their class by topic: the topics never change, wherever classes live;
and each event type has a public name of its own."""

from __future__ import annotations

from uuid import uuid4

import pytest
from eventsourcing.domain import CanMutateAggregate
from eventsourcing.persistence import (
    DatetimeAsISO,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)
from eventsourcing.utils import get_topic, resolve_topic

from domain import job_events as ev
from domain.batch import RegistrationBatch
from domain.erasure import OrganisationErasure
from domain.event_names import public_event_name
from domain.job import RegistrationJob
from tests.unit.jobs import PHASE1, PHASE2, running_job, succeed

# Every topic a job's events have ever been stored under; a new event adds to this list.
STORED_TOPICS = sorted(
    "regflow:RegistrationJob." + name
    for name in (
        "Claimed",
        "Created",
        "EditRefused",
        "JobCancelled",
        "JobCompleted",
        "JobFailed",
        "LegacyProgressImported",
        "ManualStatusSet",
        "PhaseCompleted",
        "PhaseReopened",
        "PhaseStarted",
        "ResumeRequested",
        "Snapshot",
        "Step6Started",
        "SubStepCompleted",
        "SubStepFailed",
        "SubStepInterrupted",
        "SubStepReopened",
        "SubStepReset",
        "SubStepRetryRequested",
        "SubStepRetryScheduled",
        "SubStepSkipped",
        "SubStepStarted",
    )
)


def _job_event_classes() -> dict[str, type]:
    return {
        name: value
        for name, value in vars(RegistrationJob).items()
        if isinstance(value, type) and name != "Event"
    }


def test_the_aggregate_and_its_events_keep_their_topics() -> None:
    assert get_topic(RegistrationJob) == "regflow:RegistrationJob"
    assert ev.JOB_TOPIC == "regflow:RegistrationJob"
    assert sorted(get_topic(cls) for cls in _job_event_classes().values()) == STORED_TOPICS


@pytest.mark.parametrize("topic", STORED_TOPICS)
def test_each_stored_topic_resolves_to_the_event_the_aggregate_triggers(topic: str) -> None:
    name = topic.rsplit(".", 1)[1]
    assert resolve_topic(topic) is getattr(RegistrationJob, name)


def test_every_event_of_the_package_is_bound_on_the_aggregate() -> None:
    bound = _job_event_classes().values()
    for name in ev.__all__:
        exported = getattr(ev, name)
        if isinstance(exported, type) and issubclass(exported, CanMutateAggregate):
            assert any(issubclass(cls, exported) for cls in bound), name


def test_an_event_stored_under_its_topic_loads_and_applies() -> None:
    job = RegistrationJob.register(uuid4(), "org", {"name": "R"}, {}, "alice")
    transcoder = JSONTranscoder()
    transcoder.register(UUIDAsHex())
    transcoder.register(DatetimeAsISO())
    moment = {"_type_": "datetime_iso", "_data_": "2026-12-01T10:00:00+00:00"}
    state = {"timestamp": moment, "actor": "alice"}
    topic = "regflow:RegistrationJob.Step6Started"
    stored = StoredEvent(job.id, 2, topic, transcoder.encode(state))
    event = Mapper(transcoder=transcoder).to_domain_event(stored)
    assert isinstance(event, RegistrationJob.Step6Started)
    event.mutate(job)
    assert job.step6_started is True


def test_commands_record_the_classes_bound_on_the_aggregate() -> None:
    """Commands mixed in from other modules trigger the aggregate's own (redefined) classes."""
    job = running_job()
    succeed(job, *PHASE1)
    job.start_sub_step(PHASE2[0])
    job.schedule_retry(PHASE2[0], "HTTP 503", 1.0)
    job.retry_now(PHASE2[0], "user:u-1")
    job.start_sub_step(PHASE2[0])
    job.fail_sub_step(PHASE2[0], "HTTP 400", transient=False)
    job.cancel("user:u-1", "stop")
    job.edit([(PHASE2[0], "pending", None)], "user:u-1", "try again")
    job.resume("user:u-1")
    job.refuse_edit("user:u-1", {"sub_step": "x"}, ["unknown"])
    bound = set(_job_event_classes().values())
    recorded = {type(event) for event in job.collect_events()}
    assert len(recorded) >= 12
    assert recorded <= bound


def test_each_aggregates_created_event_has_a_public_name_of_its_own() -> None:
    job = RegistrationJob.register(uuid4(), "org", {"name": "R"}, {}, "alice")
    batch = RegistrationBatch("org", "b", [], "alice")
    erasure = OrganisationErasure.record("org", "cli:alice", 1, 0, 0)
    created = [a.collect_events()[0] for a in (job, batch, erasure)]
    names = [public_event_name(event) for event in created]
    assert names == ["JobCreated", "BatchCreated", "OrganisationErasureCreated"]
