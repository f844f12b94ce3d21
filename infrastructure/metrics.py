"""Prometheus metrics of the engine (sub-step outcomes, retries, commits, circuit state), and
the helpers every metric of regflow is declared with."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

PREFIX = "regflow_"


def counter(name: str, documentation: str, *labels: str) -> Counter:
    """A counter named `regflow_<name>`, with these labels."""
    return Counter(PREFIX + name, documentation, labels)


def gauge(name: str, documentation: str, *labels: str) -> Gauge:
    """A gauge named `regflow_<name>`, with these labels."""
    return Gauge(PREFIX + name, documentation, labels)


def histogram(name: str, documentation: str, buckets: tuple[float, ...]) -> Histogram:
    """A histogram named `regflow_<name>`, with these buckets."""
    return Histogram(PREFIX + name, documentation, buckets=buckets)


OUTCOMES = "Sub-step attempts by outcome (completed, retry, failed, interrupted)."
CALL_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
BROKEN = "Job runs ended by an error that is not transient (a bug); the job is quarantined."

sub_step_outcomes = counter("sub_step_outcomes_total", OUTCOMES, "sub_step", "outcome")
sub_step_retries = counter("sub_step_retries_total", "Sub-step retries scheduled.", "sub_step")
call_seconds = histogram("call_seconds", "Duration of calls to the registration API.", CALL_BUCKETS)
commits = counter("commits_total", "Group commits of job events.", "result")
commit_jobs = histogram("commit_jobs", "Jobs saved per group commit.", (1, 2, 4, 8, 16, 32, 64))
jobs_running = gauge("jobs_running", "Jobs this process is running.")
calls_in_flight = gauge("calls_in_flight", "Calls to the registration API in flight.")
circuit_state = gauge(
    "circuit_state", "Circuit over the registration API: 0 closed, 1 half-open, 2 open."
)
circuit_transitions = counter("circuit_transitions_total", "Circuit state changes.", "state")
leases_lost = counter("leases_lost_total", "Jobs dropped because their lease was lost.")
storage_failures = counter(
    "engine_storage_failures_total", "Saves or loads that failed after storage retries."
)
job_runs_broken = counter("engine_job_runs_broken_total", BROKEN)
jobs_quarantined = gauge("engine_jobs_quarantined", "Jobs set aside after breaking.")
