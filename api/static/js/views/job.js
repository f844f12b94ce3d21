import { api } from "../api.js";
import { h } from "../dom.js";
import { createGraph } from "../graph.js";
import { SUB_STEPS } from "../plan.js";
import { jobOf, phaseLabel, phaseStatuses, restaurantName, step6Progress, subStepsOf } from "../shapes.js";
import { statusBadge, statusInfo } from "../status.js";
import { toast } from "../toast.js";
import { contextView } from "./context.js";
import { openDialog } from "./dialog.js";
import { openEditor } from "./editor.js";
import { allow, breadcrumbs, errorList, loading, pollRefresh } from "./parts.js";
import { legend } from "./legend.js";
import { createTimeline } from "./timeline.js";

const PHASE_OF = Object.fromEntries(SUB_STEPS.map((s) => [s.key, s.phase]));

/** Why the job cannot be resumed now, or "" when it can. */
function whyNoResume(job, steps) {
  if (job.status === "failed" || job.status === "cancelled") return "";
  if (job.status === "pending" && Object.values(steps).some((s) => s.status !== "pending")) return "";
  if (job.status === "in_progress") return "The job is running.";
  if (job.status === "completed") return "The job is completed: reset a sub-step to run it again.";
  return "Step 6 has not started for this job: start it from its batch.";
}

/** The job's id, selectable and with a button that copies it. */
function jobIdLine(id) {
  const code = h("code", { class: "job-id-value" }, id);
  const copy = h("button", { type: "button", class: "link-button", onclick: async () => {
    try {
      await navigator.clipboard.writeText(id);
      toast("Job id copied.");
    } catch {
      getSelection().selectAllChildren(code);
      toast("Press Ctrl+C to copy the selected id.");
    }
  } }, "Copy id");
  return h("p", { class: "job-id muted" }, "Job ", code, " ", copy);
}

/** What a resume does, in the words of the API's answer (the timeline and CLI say the same). */
export function resumeSentence(answer) {
  const done = answer.resuming_from ? phaseLabel(answer.resuming_from) : "none";
  const plan = answer.resume_plan || {};
  const runs = plan.phase
    ? `resumes in ${phaseLabel(plan.phase)} with ${(plan.sub_steps || []).join(", ")}`
    : "nothing left to run";
  return `last complete phase ${done}; ${runs}.`;
}

/** One job: the Step 6 graph with its editor, the actions, the context and the audit timeline. */
export function jobView(outlet, { id }) {
  let job = null;
  let tag = null; // the ETag of the job as shown: an edit is made on that version only
  let steps = {};
  let shownVersion = null;
  const title = h("h1", {}, "Job");
  const status = h("span", { class: "head-status" });
  const version = h("span", { class: "muted version" });
  const apiTarget = h("span", { class: "muted registration-api", "data-testid": "registration-api" });
  const crumbs = h("div", {}, breadcrumbs(["Batches", "/"], ["Job", null]));
  const problem = h("div");
  const actionProblems = h("div", { class: "form-errors", role: "alert" });
  let markLoaded;
  const loaded = new Promise((resolve) => { markLoaded = resolve; });
  const edit = async (key) => {
    if (!steps[key]) await loaded;
    openEditor({ jobId: id, key, info: steps[key], phase: phaseLabel(PHASE_OF[key]), jobStatus: job?.status, tag, onApplied: refresh });
  };
  const graph = createGraph({ onSelect: edit });
  const context = contextView();
  const timeline = createTimeline(id);
  const resume = h("button", { type: "button", class: "primary", disabled: true, onclick: askResume }, "Resume");
  const retryNow = h("button", { type: "button", disabled: true, onclick: doRetryNow }, "Retry now");
  const cancel = h("button", { type: "button", class: "danger", disabled: true, onclick: askCancel }, "Cancel");
  const summary = h("p", { class: "graph-summary", "aria-live": "polite" });

  outlet.append(crumbs,
    h("div", { class: "page-head" }, h("div", {}, h("div", { class: "title-line" }, title, status, version, apiTarget), jobIdLine(id)),
      h("div", { class: "actions" }, retryNow, cancel, resume)),
    problem, actionProblems,
    h("section", { class: "card", "aria-labelledby": "graph-title" },
      h("div", { class: "card-title-row" }, h("h2", { id: "graph-title", class: "card-title" }, "Step 6"), legend()),
      h("div", { class: "card-body" }, summary,
        h("p", { class: "hint" }, "Select a sub-step to see its attempts and errors, and to edit its status."),
        h("div", { class: "graph-scroll" }, graph.element))),
    h("div", { class: "layout-two layout-wide-left" },
      h("section", { class: "card", "aria-labelledby": "timeline-title" },
        h("h2", { id: "timeline-title", class: "card-title" }, "Timeline"), h("div", { class: "card-body" }, timeline.element)),
      h("section", { class: "card", "aria-labelledby": "context-title" },
        h("h2", { id: "context-title", class: "card-title" }, "Context"), h("div", { class: "card-body" }, context.element))));
  summary.append(loading());

  let batchName = null;
  async function learnBatchName(batchId) {
    if (batchName !== null || !batchId) return;
    batchName = "Batch";
    try {
      batchName = (await api.batch(batchId)).batch?.name || "Batch";
    } catch {
      batchName = "Batch";
    }
  }

  function show(answer) {
    job = jobOf(answer);
    tag = answer.etag || null;
    const progress = step6Progress(job);
    steps = subStepsOf(progress);
    markLoaded();
    const name = restaurantName(job);
    title.textContent = name;
    document.title = `${name} · regflow`;
    crumbs.replaceChildren(breadcrumbs(["Batches", "/"], [batchName || "Batch", job.batch_id ? `/batches/${encodeURIComponent(job.batch_id)}` : null], [name, null]));
    const failing = Object.values(steps).some((x) => x.status === "failed");
    const edited = job.status === "failed" && !failing;
    status.replaceChildren(statusBadge(job.status),
      edited ? h("span", { class: "status-note muted" }, " since edited: no sub-step is failed now; resume to run it") : null);
    version.textContent = job.version !== undefined ? `version ${job.version}` : "";
    const target = progress?.registration_api;
    apiTarget.textContent = target ? `calls: ${target === "simulator" ? "simulator (no real registration)" : target}` : "";
    graph.update(steps, phaseStatuses(progress, steps, job.status));
    context.update(progress?.context || job.context || {});
    const tally = (s) => Object.values(steps).filter((x) => x.status === s).length;
    const sentence = `${tally("completed")} of ${SUB_STEPS.length} completed, ${tally("failed")} failed, ${tally("blocked")} blocked, ${tally("retrying")} retrying, ${tally("skipped")} skipped. Current phase: ${phaseLabel(progress?.current_phase || job.current_phase)}.`;
    if (summary.textContent !== sentence) summary.textContent = sentence;
    allow(resume, whyNoResume(job, steps));
    allow(cancel, ["in_progress", "pending"].includes(job.status) ? "" : `The job is ${statusInfo(job.status).label.toLowerCase()}: nothing to cancel.`);
    const waiting = Object.values(steps).some((s) => s.status === "retrying" || s.waiting_status === "retrying");
    allow(retryNow, waiting ? "" : "No sub-step is waiting to retry.");
  }

  async function refresh() {
    const answer = await api.job(id);
    await learnBatchName(jobOf(answer).batch_id);
    show(answer);
    const current = jobOf(answer).version;
    if (current !== shownVersion || current === undefined) {
      shownVersion = current;
      await timeline.refresh();
    }
  }

  async function act(work, message) {
    actionProblems.replaceChildren();
    try {
      const answer = await work();
      toast(message(answer));
      await refresh();
    } catch (error) {
      actionProblems.replaceChildren(errorList(error.lines));
    }
  }

  async function askResume() {
    const { body, close } = openDialog("Resume this job?");
    const plan = h("div", { "aria-live": "polite" }, h("p", { class: "loading" }, "Asking the API what a resume would do…"));
    const confirm = h("button", { type: "submit", class: "primary", disabled: true }, "Resume");
    const form = h("form", { class: "stack" }, plan,
      h("div", { class: "actions" }, h("button", { type: "button", onclick: close }, "Not now"), confirm));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      close();
      act(() => api.resume(id), (a) => `${a.message || "Resume initiated"}: ${resumeSentence(a)}`);
    });
    body.append(form);
    try {
      plan.replaceChildren(h("p", {}, resumeSentence(await api.resume(id, { dry_run: true }))));
      confirm.disabled = false;
      confirm.focus();
    } catch (error) {
      plan.replaceChildren(errorList(error.lines));
    }
  }

  function doRetryNow() {
    const waiting = Object.entries(steps).filter(([, s]) => s.status === "retrying" || s.waiting_status === "retrying").map(([k]) => k);
    act(() => Promise.all(waiting.map((key) => api.retryNow(id, key))), () => `Trying ${waiting.join(", ")} again now.`);
  }

  function askCancel() {
    const { body, close } = openDialog("Cancel this job?");
    const reason = h("textarea", { id: "cancel-reason", rows: 2 });
    const form = h("form", { class: "stack" },
      h("p", {}, "No new sub-step will be started. Calls already in flight finish. You can resume later."),
      h("div", { class: "field" }, h("label", { for: "cancel-reason" }, "Reason (optional)"), reason),
      h("div", { class: "actions" }, h("button", { type: "button", onclick: close }, "Keep running"),
        h("button", { type: "submit", class: "danger" }, "Cancel job")));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      close();
      act(() => api.cancel(id, reason.value.trim()), () => "Job cancelled.");
    });
    body.append(form);
    reason.focus();
  }

  return pollRefresh(refresh, problem);
}
