"""Engine throughput with tracing on (console exporter to a file) beside tracing off.

Runs bench/engine.py's `postgres-inprocess` and `postgres-inprocess-traced` cases in pairs,
each in a fresh process on a database of its own, REPEATS pairs with the order alternating,
and reports traced/untraced jobs/s: the ratio of the medians and the median of the pairs'
ratios, and the same for the engine process's CPU time per job, which the machine's other
load disturbs less than wall time (the goal: a loss of at most 10 %, a ratio of at least
0.9). Beside those pairs, which a busy machine makes noisy, it measures the spans of one job
directly: the CPU time of a job's run span and its twelve attempt spans, opened, ended and
exported through the same processor and console exporter, as a share of the untraced CPU
per job. Run from the repository root: `python -m bench.tracing_cost [--jobs N]
[--repeats N]`. Saves bench/results/tracing-cost-<time>.json. Not a test.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

from bench.engine import TRACED, run_in_fresh_process
from domain.job import RegistrationJob
from domain.plan import PLAN
from infrastructure import tracing
from infrastructure.engine.job_trace import JobTrace

OFF, ON = "postgres-inprocess", "postgres-inprocess-traced"


def span_cpu_ms_per_job(jobs: int = 2_000) -> float:
    """CPU ms that tracing adds to one job: its run span and one span per sub-step attempt,
    with their attributes and W3C headers, exported to a file as the traced case does."""
    job = RegistrationJob.register(uuid4(), "org-bench", {"name": "R"}, {}, "user:bench")
    with tempfile.TemporaryFile("w") as spans:
        assert tracing.configure(TRACED, console_out=spans)
        try:
            started = time.process_time()
            for _ in range(jobs):
                trace = JobTrace(str(job.id))
                trace.open(job)
                for key in PLAN.keys:
                    trace.begin(job, key)
                    trace.traceparent(key)
                    trace.end(key, "completed")
                trace.close("completed")
            tracing.shutdown()
            return (time.process_time() - started) / jobs * 1000
        finally:
            tracing.uninstall()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    pairs: list[dict[str, dict[str, Any]]] = []
    for repeat in range(args.repeats):
        pair = {}
        for case in (OFF, ON) if repeat % 2 == 0 else (ON, OFF):
            pair[case] = run_in_fresh_process(case, args.jobs)
        pairs.append(pair)
        ratio = pair[ON]["jobs_per_s"] / pair[OFF]["jobs_per_s"]
        print(
            f"pair {repeat + 1}: off {pair[OFF]['jobs_per_s']:.1f} jobs/s, "
            f"on {pair[ON]['jobs_per_s']:.1f} jobs/s, on/off {ratio:.3f}; CPU per job "
            f"off {pair[OFF]['cpu_ms_per_job']:.2f} ms, on {pair[ON]['cpu_ms_per_job']:.2f} ms",
            flush=True,
        )
    off = statistics.median(p[OFF]["jobs_per_s"] for p in pairs)
    on = statistics.median(p[ON]["jobs_per_s"] for p in pairs)
    ratios = sorted(p[ON]["jobs_per_s"] / p[OFF]["jobs_per_s"] for p in pairs)
    figures = {
        "median_jobs_per_s_off": off,
        "median_jobs_per_s_on": on,
        "on_over_off_of_medians": on / off,
        "median_of_pair_ratios": statistics.median(ratios),
        "pair_ratios": ratios,
        "cpu_ms_per_job_off": statistics.median(p[OFF]["cpu_ms_per_job"] for p in pairs),
        "cpu_ms_per_job_on": statistics.median(p[ON]["cpu_ms_per_job"] for p in pairs),
        "median_of_pair_cpu_ratios": statistics.median(
            p[ON]["cpu_ms_per_job"] / p[OFF]["cpu_ms_per_job"] for p in pairs
        ),
        "step_overhead_p50_ms_off": statistics.median(p[OFF]["overhead_ms_p50"] for p in pairs),
        "step_overhead_p50_ms_on": statistics.median(p[ON]["overhead_ms_p50"] for p in pairs),
    }
    spans_ms = span_cpu_ms_per_job()
    figures["span_cpu_ms_per_job"] = spans_ms
    figures["span_cpu_share_of_untraced_job"] = spans_ms / figures["cpu_ms_per_job_off"]
    print(
        f"spans of one job, measured directly: {spans_ms:.3f} ms of CPU, "
        f"{figures['span_cpu_share_of_untraced_job']:.1%} of an untraced job's CPU"
    )
    print(
        f"tracing on/off: {on / off:.3f} (medians), {statistics.median(ratios):.3f} "
        f"(median of pairs; range {ratios[0]:.3f}-{ratios[-1]:.3f}); CPU per job on/off "
        f"{figures['median_of_pair_cpu_ratios']:.3f} (median of pairs)"
    )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = Path(__file__).parent / "results" / f"tracing-cost-{stamp}.json"
    out.write_text(
        json.dumps(
            {"jobs": args.jobs, "repeats": args.repeats, **figures, "pairs": pairs}, indent=2
        )
    )
    print(f"saved {out}")


if __name__ == "__main__":
    main()
