"""Prometheus metrics of the engine: sub-step outcomes, retries, commits, circuit state."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

sub_step_outcomes = Counter(
    "regflow_sub_step_outcomes_total",
    "Sub-step attempts by outcome (completed, retry, failed, interrupted).",
    ["sub_step", "outcome"],
)
sub_step_retries = Counter(
    "regflow_sub_step_retries_total", "Sub-step retries scheduled.", ["sub_step"]
)
call_seconds = Histogram(
    "regflow_call_seconds",
    "Duration of calls to the registration API.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
commits = Counter("regflow_commits_total", "Group commits of job events.", ["result"])
commit_jobs = Histogram(
    "regflow_commit_jobs", "Jobs saved per group commit.", buckets=(1, 2, 4, 8, 16, 32, 64)
)
jobs_running = Gauge("regflow_jobs_running", "Jobs this process is running.")
calls_in_flight = Gauge("regflow_calls_in_flight", "Calls to the registration API in flight.")
circuit_state = Gauge(
    "regflow_circuit_state", "Circuit over the registration API: 0 closed, 1 half-open, 2 open."
)
circuit_transitions = Counter(
    "regflow_circuit_transitions_total", "Circuit state changes.", ["state"]
)
leases_lost = Counter("regflow_leases_lost_total", "Jobs dropped because their lease was lost.")
storage_failures = Counter(
    "regflow_engine_storage_failures_total", "Saves or loads that failed after storage retries."
)
job_runs_broken = Counter(
    "regflow_engine_job_runs_broken_total",
    "Job runs ended by an error that is not transient (a bug); the job is quarantined.",
)
jobs_quarantined = Gauge("regflow_engine_jobs_quarantined", "Jobs set aside after breaking.")
