import { PHASES, SUB_STEPS } from "./plan.js";

const WELL_SETTLED = new Set(["completed", "skipped"]);
const SETTLED = new Set(["completed", "skipped", "failed", "blocked"]);

const first = (...values) => values.find((v) => v !== undefined && v !== null);

/** Job counters of a batch summary or a progress answer. */
export function counts(source) {
  const c = source || {};
  const completed = Number(first(c.completed, c.completed_jobs, 0));
  const failed = Number(first(c.failed, c.failed_jobs, 0));
  const inProgress = Number(first(c.in_progress, c.running, 0));
  const pending = Number(first(c.pending, 0));
  const cancelled = Number(first(c.cancelled, 0));
  const total = Number(first(c.total, c.total_jobs, c.jobs?.length, completed + failed + inProgress + pending + cancelled));
  const finished = completed + failed + cancelled;
  const percent = Number(first(c.percent, total ? Math.round((100 * finished) / total) : 0));
  return { total, completed, failed, inProgress, pending, cancelled, percent };
}

/** The Step 6 sub_step_progress of a job (or of a state answer), or null. */
export function step6Progress(job) {
  if (!job) return null;
  const step = (job.steps || []).find((s) => Number(s.step_number) === 6);
  return first(step?.sub_step_progress, job.sub_step_progress, job.phases ? job : null);
}

/** Each sub-step's progress by key, with `blocked` derived when the answer leaves it out. */
export function subStepsOf(progress) {
  const found = {};
  for (const phase of Object.values(progress?.phases || {})) Object.assign(found, phase.sub_steps || {});
  const steps = {};
  for (const step of SUB_STEPS) {
    const info = { status: "pending", attempts: 0, ...(found[step.key] || {}) };
    const waiting = info.status === "pending" || info.status === "retrying";
    const behind = step.depends_on.some((d) => ["failed", "blocked"].includes(steps[d]?.status));
    steps[step.key] = waiting && behind ? { ...info, waiting_status: info.status, status: "blocked" } : info;
  }
  return steps;
}

/** Each phase's status, derived from the sub-steps the page shows, so badges and nodes agree.
 * A phase that failed holds a failed sub-step; one whose only unsettled sub-steps are blocked
 * by a failure elsewhere is "blocked", not failed; in a job that is not running, a phase with
 * work left is "pending" (it waits for a resume), not running. */
export function phaseStatuses(progress, steps, jobStatus) {
  const stopped = jobStatus && jobStatus !== "in_progress";
  const result = {};
  for (const phase of PHASES) {
    const statuses = SUB_STEPS.filter((s) => s.phase === phase).map((s) => steps[s.key]?.status);
    if (statuses.some((s) => s === undefined)) {
      result[phase] = progress?.phases?.[phase]?.status || "pending";
      continue;
    }
    let derived = "in_progress";
    if (statuses.every((s) => WELL_SETTLED.has(s))) derived = "completed";
    else if (statuses.every((s) => SETTLED.has(s))) derived = statuses.includes("failed") ? "failed" : "blocked";
    else if (statuses.every((s) => s === "pending" || s === "skipped")) derived = "pending";
    result[phase] = stopped && derived === "in_progress" ? "pending" : derived;
  }
  return result;
}

export function phaseLabel(phase) {
  return phase ? String(phase).replace(/^phase(\d+)$/, "Phase $1") : "—";
}

/** The job of a job answer or a state answer. */
export function jobOf(answer) {
  return first(answer?.job, answer?.state, answer) || {};
}

export function restaurantName(job) {
  return first(job?.restaurant?.name, job?.name, job?.restaurant_name, "Unnamed restaurant");
}

/** The most telling error of a job: its own, else the first failed sub-step's. */
export function lastError(job) {
  const own = first(job?.last_error, job?.error);
  if (own) return own;
  const steps = subStepsOf(step6Progress(job));
  const failed = Object.entries(steps).find(([, s]) => s.error && s.status === "failed");
  return failed ? `${failed[0]}: ${failed[1].error}` : "";
}

/** Whether a job row belongs under a filter of the batch page. */
export function matchesFilter(job, filter) {
  if (filter === "failed") return job.status === "failed";
  if (filter === "running") return job.status === "in_progress";
  if (filter === "blocked") return isBlocked(job);
  return true;
}

export function isBlocked(job) {
  const blocked = first(job.counts?.blocked, job.blocked, job.blocked_sub_steps);
  if (Array.isArray(blocked)) return blocked.length > 0;
  if (blocked !== undefined) return Boolean(blocked);
  return job.status === "blocked";
}
