import { api } from "../api.js";
import { h } from "../dom.js";
import { counts, matchesFilter } from "../shapes.js";
import { statusBadge } from "../status.js";
import { toast } from "../toast.js";
import { jobsTable } from "./jobs-table.js";
import { allow, breadcrumbs, errorList, loading, pollRefresh, progressBar } from "./parts.js";

const FILTERS = [["all", "All"], ["failed", "Failed"], ["running", "Running"], ["blocked", "Blocked"]];

function counter(label, value, cls) {
  return h("div", { class: ["counter", cls] }, h("span", { class: "counter-value" }, String(value)), h("span", { class: "counter-label" }, label));
}

function countersOf(progress) {
  const c = counts(progress);
  return [counter("Jobs", c.total), counter("Completed", c.completed, "counter-completed"),
    counter("Failed", c.failed, "counter-failed"), counter("Running", c.inProgress, "counter-running"),
    counter("Pending", c.pending, "counter-pending")];
}

/** One batch: live counters and progress, its jobs with filters, and starting Step 6. */
export function batchView(outlet, { id, query }) {
  const title = h("h1", {}, "Batch");
  const status = h("span", { class: "head-status" });
  const crumbs = h("div", {}, breadcrumbs(["Batches", "/"], ["Batch", null]));
  const problem = h("div");
  const counterBox = h("div", { class: "counters", "aria-live": "polite", "aria-atomic": "true" });
  const bar = h("div", { class: "batch-bar" });
  const capacity = h("p", { class: "progress-note capacity-note", role: "status", hidden: true });
  const actionProblems = h("div", { class: "form-errors", role: "alert" });
  let filter = FILTERS.some(([f]) => f === query.get("filter")) ? query.get("filter") : "all";
  let jobs = [];
  const table = jobsTable({ onSelectionChange: refreshButtons });
  const filterButtons = FILTERS.map(([key, label]) =>
    h("button", { type: "button", class: "chip", dataset: { filter: key }, "aria-pressed": String(key === filter),
      onclick: () => setFilter(key) }, label, h("span", { class: "chip-count" })));
  const startAll = h("button", { class: "primary", type: "button", onclick: () => start(null) }, "Start Step 6 for all jobs");
  const startSelected = h("button", { type: "button", disabled: true, onclick: () => start(pendingSelected()) }, "Start selected");
  const resumeSelected = h("button", { type: "button", disabled: true, onclick: resume }, "Resume selected");
  const RESUMABLE = new Set(["failed", "cancelled"]);
  const pendingSelected = () => table.selectedJobs().filter((j) => j.status === "pending").map((j) => j.id);
  const resumableSelected = () => table.selectedJobs().filter((j) => RESUMABLE.has(j.status)).map((j) => j.id);

  outlet.append(crumbs,
    h("div", { class: "page-head" }, h("div", { class: "title-line" }, title, status),
      h("div", { class: "actions" }, resumeSelected, startSelected, startAll)),
    problem, actionProblems,
    h("section", { class: "card", "aria-label": "Progress" }, h("div", { class: "card-body" }, counterBox, bar, capacity)),
    h("section", { class: "card", "aria-labelledby": "jobs-title" },
      h("div", { class: "card-title-row" }, h("h2", { id: "jobs-title", class: "card-title" }, "Jobs"),
        h("div", { class: "chips", role: "group", "aria-label": "Show jobs" }, filterButtons)),
      table.element));
  counterBox.append(loading());

  function setFilter(key) {
    filter = key;
    const url = new URL(location.href);
    if (key === "all") url.searchParams.delete("filter");
    else url.searchParams.set("filter", key);
    history.replaceState(null, "", url);
    filterButtons.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.filter === key)));
    showJobs();
  }

  function showJobs() {
    for (const b of filterButtons) {
      b.querySelector(".chip-count").textContent = String(jobs.filter((j) => matchesFilter(j, b.dataset.filter)).length);
    }
    table.update(jobs.filter((j) => matchesFilter(j, filter)), filter);
  }

  function refreshButtons() {
    const chosen = table.selected().length;
    const n = pendingSelected().length;
    const r = resumableSelected().length;
    startSelected.textContent = n ? `Start selected (${n})` : "Start selected";
    resumeSelected.textContent = r ? `Resume selected (${r})` : "Resume selected";
    const started = chosen - n;
    allow(startSelected, n ? "" : chosen
      ? `The ${started === 1 ? "selected job has" : `${started} selected jobs have`} already started: resume failed or cancelled ones instead.`
      : "Select pending jobs to start them.");
    allow(resumeSelected, r ? "" : "Select failed or cancelled jobs to resume them.");
  }

  async function resume() {
    actionProblems.replaceChildren();
    const ids = resumableSelected();
    const outcomes = await Promise.allSettled(ids.map((jobId) => api.resume(jobId)));
    const refused = outcomes.map((o, i) => [o, ids[i]]).filter(([o]) => o.status === "rejected");
    const done = ids.length - refused.length;
    if (done) toast(`Resumed ${done} job${done === 1 ? "" : "s"}.`);
    if (refused.length) {
      const name = (jobId) => jobs.find((j) => j.id === jobId)?.name || jobId;
      actionProblems.replaceChildren(errorList(refused.map(([o, jobId]) => `${name(jobId)}: ${(o.reason.lines || [String(o.reason)]).join(" ")}`)));
    }
    table.clearSelection();
    refreshButtons();
    await refresh();
  }

  async function start(jobIds) {
    actionProblems.replaceChildren();
    try {
      const answer = await api.start(id, jobIds);
      const n = (answer.started || []).length;
      toast(n ? `Step 6 started for ${n} job${n === 1 ? "" : "s"}.` : "Nothing to start: those jobs have already started.");
      table.clearSelection();
      refreshButtons();
      await refresh();
    } catch (error) {
      actionProblems.replaceChildren(errorList(error.lines));
    }
  }

  let shownCounts = null;
  async function refresh() {
    const batch = (await api.batch(id)).batch;
    title.textContent = batch.name || "Batch";
    document.title = `${batch.name || "Batch"} · regflow`;
    crumbs.replaceChildren(breadcrumbs(["Batches", "/"], [batch.name || id, null]));
    jobs = batch.jobs || [];
    const fingerprint = JSON.stringify([batch.status, counts(batch), jobs.map((j) => j.counts)]);
    if (fingerprint !== shownCounts) {
      shownCounts = fingerprint;
      status.replaceChildren(statusBadge(batch.status));
      counterBox.replaceChildren(...countersOf(batch));
      bar.replaceChildren(progressBar(batch, jobs));
    }
    const waiting = Number(batch.waiting_for_capacity || 0);
    capacity.hidden = waiting === 0;
    capacity.textContent = waiting
      ? `${waiting} job${waiting === 1 ? " is" : "s are"} waiting for registration API capacity (flow control).`
      : "";
    allow(startAll, jobs.some((j) => j.status === "pending") ? "" : "Every job has started: resume failed jobs instead.");
    showJobs();
    refreshButtons();
  }

  const stop = pollRefresh(refresh, problem);
  return stop;
}
