"""The one route table: every route with its handler and the schemas the OpenAPI document shows."""

from __future__ import annotations

from api import health, metrics, openapi
from api import schemas as s
from api.caching import IF_MATCH
from api.handlers import batch_jobs, batch_stream, batches, edits, jobs
from api.parsing import IDEMPOTENCY_KEY
from api.routing import Route
from api.schemas.batches import (
    BatchesQuery,
    BatchListAnswer,
    BatchQuery,
    CreateOptions,
    JobsPageAnswer,
    JobsQuery,
    StreamQuery,
    StreamTicketAnswer,
)

EDIT_ONCE = (
    (
        IDEMPOTENCY_KEY,
        "Edit once per key, scoped to the job: a repeat with the same edits and reason answers "
        "what the first request did (header Idempotent-Replayed: true) and changes nothing; "
        "other edits under the key are 422. A dry run does not look at the key",
    ),
)
CONDITIONAL = (
    (
        IF_MATCH,
        "Only if the job is still at the version read: the ETag of GET /jobs/{jobId} (or of "
        "a change's answer); at another version nothing is done and the answer is 412",
    ),
)
CHANGED = ((412, "The job changed since the version If-Match names: nothing was done"),)
BASE = "/api/registration-batches"
JOB = BASE + "/jobs/{jobId}"
SUB_STEP = JOB + "/steps/6/sub-steps/{subStepKey}"


ROUTES: tuple[Route, ...] = (
    Route(
        "GET",
        JOB,
        jobs.get_job,
        "A job with its Step 6 progress",
        s.JobAnswer,
        also=(openapi.NOT_MODIFIED,),
    ),
    Route(
        "POST",
        JOB + "/resume-step-6",
        jobs.resume,
        "Resume Step 6",
        s.ResumeAnswer,
        body=s.Resume,
        body_optional=True,
        headers=CONDITIONAL,
        also=CHANGED,
    ),
    Route(
        "POST",
        JOB + "/cancel",
        jobs.cancel,
        "Cancel a job",
        s.CommandAnswer,
        body=s.Reasoned,
        body_optional=True,
        headers=CONDITIONAL,
        also=CHANGED,
    ),
    Route(
        "GET", JOB + "/events", jobs.events, "A job's events", s.EventsAnswer, query=s.EventsQuery
    ),
    Route(
        "GET",
        JOB + "/state",
        jobs.state,
        "A job's state at a time or version",
        s.StateAnswer,
        query=s.StateQuery,
    ),
    Route(
        "PATCH",
        JOB + "/steps/6/sub-steps",
        edits.edit_sub_steps,
        "Edit sub-steps in bulk",
        s.BulkEditAnswer,
        body=s.BulkEdit,
        headers=EDIT_ONCE + CONDITIONAL,
        also=CHANGED,
    ),
    Route(
        "PATCH",
        SUB_STEP,
        edits.edit_sub_step,
        "Set a sub-step's status",
        s.EditAnswer,
        body=s.SubStepEdit,
        headers=EDIT_ONCE + CONDITIONAL,
        also=CHANGED,
    ),
    Route(
        "POST",
        SUB_STEP + "/reset",
        edits.reset_sub_step,
        "Reset a sub-step and dependents",
        s.ResetAnswer,
        body=s.Reset,
        body_optional=True,
        headers=EDIT_ONCE + CONDITIONAL,
        also=CHANGED,
    ),
    Route(
        "POST",
        SUB_STEP + "/retry-now",
        jobs.retry_now,
        "Retry a waiting sub-step now",
        s.RetryNowAnswer,
        body=s.Reasoned,
        body_optional=True,
        headers=CONDITIONAL,
        also=CHANGED,
    ),
    Route(
        "GET",
        SUB_STEP + "/validation",
        edits.validation,
        "Which edits are allowed",
        s.ValidationAnswer,
    ),
    Route(
        "POST",
        BASE,
        batches.create_batch,
        "Create a batch (JSON, or a CSV / JSON-lines upload named by ?name=)",
        s.BatchCreatedAnswer,
        201,
        body=s.CreateBatch,
        query=CreateOptions,
        uploads=("text/csv", "application/x-ndjson"),
        headers=(
            (
                IDEMPOTENCY_KEY,
                "Create once per key: a repeat with the same content answers the batch it "
                "made (header Idempotent-Replayed: true); other content under the key is 422",
            ),
        ),
    ),
    Route("GET", BASE, batches.list_batches, "List batches", BatchListAnswer, query=BatchesQuery),
    Route(
        "GET",
        BASE + "/{batchId}",
        batches.get_batch,
        "A batch and its jobs (?brief=1: without them)",
        s.BatchAnswer,
        query=BatchQuery,
        also=(openapi.NOT_MODIFIED,),
    ),
    Route(
        "GET",
        BASE + "/{batchId}/jobs",
        batch_jobs.batch_jobs,
        "A page of a batch's jobs (cursor, status filter, name search)",
        JobsPageAnswer,
        query=JobsQuery,
        also=(openapi.NOT_MODIFIED,),
    ),
    Route(
        "POST",
        BASE + "/{batchId}/stream-token",
        batch_stream.stream_ticket,
        "A one-minute ticket to open the batch's stream without an Authorization header",
        StreamTicketAnswer,
    ),
    Route(
        "GET",
        BASE + "/{batchId}/stream",
        batch_stream.stream_batch,
        "A batch's progress counters as Server-Sent Events, pushed when they change",
        query=StreamQuery,
        media="text/event-stream",
    ),
    Route(
        "GET",
        BASE + "/{batchId}/progress",
        batches.batch_progress,
        "A batch's progress",
        s.ProgressAnswer,
        also=(openapi.NOT_MODIFIED,),
    ),
    Route(
        "POST",
        BASE + "/{batchId}/step-6/start",
        batches.start_step6,
        "Start Step 6",
        s.StartedAnswer,
        202,
        body=s.StartStep6,
        body_optional=True,
    ),
    Route("GET", "/health/live", health.live, "Liveness", s.HealthAnswer, public=True, api=False),
    Route(
        "GET",
        "/health/ready",
        health.ready,
        "Readiness",
        s.HealthAnswer,
        public=True,
        api=False,
        also=(
            (
                503,
                "Not ready: the store does not answer, a view lags, or (role all or worker) "
                "the engine is not running, or (role worker) the registration API's circuit "
                "is open (which is named)",
            ),
        ),
    ),
    Route(
        "GET",
        "/metrics",
        metrics.metrics,
        "Prometheus metrics",
        api=False,
        media="text/plain",
    ),
    Route("GET", "/api/openapi.json", openapi.openapi_json, "This document", api=False),
)
WORKER_ROUTES = tuple(r for r in ROUTES if r.path.startswith(("/health/", "/metrics")))
