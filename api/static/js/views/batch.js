import { api } from "../api.js";
import { h } from "../dom.js";
import { followBatch, isSettled } from "../live.js";
import { counts } from "../shapes.js";
import { statusBadge } from "../status.js";
import { toast } from "../toast.js";
import { jobsTable } from "./jobs-table.js";
import { allow, breadcrumbs, errorList, loading, problemBanner, progressBar } from "./parts.js";

const FILTERS = [["all", "All", null], ["failed", "Failed", "failed"], ["running", "Running", "in_progress"], ["blocked", "Blocked", "blocked"]];
const STATUS_OF = Object.fromEntries(FILTERS.map(([key, , status]) => [key, status]));
const PAGE_SIZE = 100;
const SEARCH_DELAY_MS = 250;
const RELOAD_GAP_MS = 1000;

function counter(label, value, cls) {
  return h("div", { class: ["counter", cls] }, h("span", { class: "counter-value" }, String(value)), h("span", { class: "counter-label" }, label));
}

function countersOf(progress) {
  const c = counts(progress);
  return [counter("Jobs", c.total), counter("Completed", c.completed, "counter-completed"),
    counter("Failed", c.failed, "counter-failed"), counter("Running", c.inProgress, "counter-running"),
    counter("Pending", c.pending, "counter-pending")];
}

/** One batch: pushed counters and progress, its jobs a page at a time (search, filters), and
 * starting Step 6. Updates stop once the batch has settled. */
export function batchView(outlet, { id, query }) {
  const title = h("h1", {}, "Batch");
  const status = h("span", { class: "head-status" });
  const crumbs = h("div", {}, breadcrumbs(["Batches", "/"], ["Batch", null]));
  const problem = h("div");
  const counterBox = h("div", { class: "counters", "aria-live": "polite", "aria-atomic": "true" });
  const bar = h("div", { class: "batch-bar" });
  const actionProblems = h("div", { class: "form-errors", role: "alert" });
  let filter = FILTERS.some(([f]) => f === query.get("filter")) ? query.get("filter") : "all";
  let search = query.get("q") || "";
  let cursors = [null];
  let page = 0;
  let latest = null;
  const table = jobsTable({ onSelectionChange: refreshButtons });
  const filterButtons = FILTERS.map(([key, label]) =>
    h("button", { type: "button", class: "chip", dataset: { filter: key }, "aria-pressed": String(key === filter),
      onclick: () => setFilter(key) }, label, h("span", { class: "chip-count" })));
  const searchBox = h("input", { type: "search", class: "job-search", value: search, placeholder: "Search by restaurant or external id",
    "aria-label": "Search jobs" });
  const prev = h("button", { type: "button", disabled: true, onclick: () => turn(-1) }, "Previous");
  const next = h("button", { type: "button", disabled: true, onclick: () => turn(1) }, "Next");
  const shown = h("span", { class: "muted pager-text", "aria-live": "polite" });
  const startAll = h("button", { class: "primary", type: "button", onclick: () => start(null) }, "Start Step 6 for all jobs");
  const capacity = h("p", { class: "progress-note capacity-note", role: "status", hidden: true });
  const startSelected = h("button", { type: "button", disabled: true, onclick: () => start(pendingSelected()) }, "Start selected");
  const resumeSelected = h("button", { type: "button", disabled: true, onclick: resume }, "Resume selected");
  const RESUMABLE = new Set(["failed", "cancelled"]);
  const pendingSelected = () => table.selectedJobs().filter((j) => j.status === "pending").map((j) => j.id);
  const resumableSelected = () => table.selectedJobs().filter((j) => RESUMABLE.has(j.status)).map((j) => j.id);
  table.element.classList.add("jobs-scroll");

  outlet.append(crumbs,
    h("div", { class: "page-head" }, h("div", { class: "title-line" }, title, status),
      h("div", { class: "actions" }, resumeSelected, startSelected, startAll)),
    problem, actionProblems,
    h("section", { class: "card", "aria-label": "Progress" }, h("div", { class: "card-body" }, counterBox, bar, capacity)),
    h("section", { class: "card", "aria-labelledby": "jobs-title" },
      h("div", { class: "card-title-row" }, h("h2", { id: "jobs-title", class: "card-title" }, "Jobs"),
        h("div", { class: "chips", role: "group", "aria-label": "Show jobs" }, filterButtons)),
      h("div", { class: "jobs-tools" }, searchBox, h("div", { class: "pager" }, shown, prev, next)),
      table.element));
  counterBox.append(loading());

  let searchTimer = null;
  searchBox.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      search = searchBox.value.trim();
      remember("q", search);
      restart();
    }, SEARCH_DELAY_MS);
  });

  function remember(key, value) {
    const url = new URL(location.href);
    if (!value || value === "all") url.searchParams.delete(key);
    else url.searchParams.set(key, value);
    history.replaceState(null, "", url);
  }

  function setFilter(key) {
    filter = key;
    remember("filter", key);
    filterButtons.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.filter === key)));
    restart();
  }

  function restart() {
    cursors = [null];
    page = 0;
    loadPage().catch(showProblem);
  }

  function turn(step) {
    page = Math.max(0, Math.min(page + step, cursors.length - 1));
    loadPage().catch(showProblem);
  }

  function showProblem(error) {
    problem.replaceChildren(problemBanner(error));
  }

  let blockedCount = null;
  async function loadPage() {
    const answer = await api.jobsPage(id, { limit: PAGE_SIZE, after: cursors[page], status: STATUS_OF[filter], q: search });
    cursors = cursors.slice(0, page + 1);
    if (answer.next_after) cursors.push(answer.next_after);
    const jobs = answer.jobs || [];
    table.update(jobs, filter);
    refreshButtons();
    const from = jobs.length ? page * PAGE_SIZE + 1 : 0;
    shown.textContent = `${from}–${page * PAGE_SIZE + jobs.length} of ${answer.total}`;
    prev.disabled = page === 0;
    next.disabled = !answer.next_after;
    if (filter === "blocked" && !search) blockedCount = answer.total;
    problem.replaceChildren();
    showChipCounts();
  }

  function showChipCounts() {
    if (!latest) return;
    const c = counts(latest);
    const byFilter = { all: c.total, failed: c.failed, running: c.inProgress, blocked: blockedCount ?? "" };
    for (const b of filterButtons) b.querySelector(".chip-count").textContent = String(byFilter[b.dataset.filter]);
  }

  async function countBlocked() {
    blockedCount = (await api.jobsPage(id, { limit: 1, status: "blocked" })).total;
    showChipCounts();
  }

  /** How many of the batch's jobs (on any page) wait for registration API capacity. */
  function showCapacity(waiting) {
    capacity.hidden = !waiting;
    capacity.textContent = waiting
      ? `${waiting} job${waiting === 1 ? " is" : "s are"} waiting for registration API capacity (flow control).`
      : "";
  }

  let shownCounts = null;
  /** The batch's counters, its sub-step bar and its capacity note; true when any count moved
   * (rows then show a new status or phase: the page is read again, at most once a second). */
  function showCounters(batch) {
    latest = { ...latest, ...batch };
    showCapacity(Number(latest.waiting_for_capacity || 0));
    const fingerprint = JSON.stringify([latest.status, counts(latest), latest.sub_steps || null]);
    if (fingerprint === shownCounts) return false;
    shownCounts = fingerprint;
    status.replaceChildren(statusBadge(latest.status));
    counterBox.replaceChildren(...countersOf(latest));
    bar.replaceChildren(progressBar(latest));
    allow(startAll, counts(latest).pending > 0 ? "" : "Every job has started: resume failed jobs instead.");
    showChipCounts();
    return true;
  }

  function showName(batch) {
    title.textContent = batch.name || "Batch";
    document.title = `${batch.name || "Batch"} · regflow`;
    crumbs.replaceChildren(breadcrumbs(["Batches", "/"], [batch.name || id, null]));
  }

  let reloadTimer = null;
  let lastReload = 0;
  function reloadSoon() {
    if (reloadTimer) return;
    const wait = Math.max(0, lastReload + RELOAD_GAP_MS - Date.now());
    reloadTimer = setTimeout(async () => {
      reloadTimer = null;
      lastReload = Date.now();
      try {
        await loadPage();
        await countBlocked();
      } catch (error) {
        showProblem(error);
      }
    }, wait);
  }

  let unfollow = () => {};
  function follow() {
    unfollow();
    unfollow = followBatch(id, (batch) => {
      if (showCounters(batch) || isSettled(batch.status)) reloadSoon();
    });
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
    const names = new Map(table.selectedJobs().map((j) => [j.id, j.name]));
    const outcomes = await Promise.allSettled(ids.map((jobId) => api.resume(jobId)));
    const refused = outcomes.map((o, i) => [o, ids[i]]).filter(([o]) => o.status === "rejected");
    const done = ids.length - refused.length;
    if (done) toast(`Resumed ${done} job${done === 1 ? "" : "s"}.`);
    if (refused.length) {
      actionProblems.replaceChildren(errorList(refused.map(([o, jobId]) => `${names.get(jobId) || jobId}: ${(o.reason.lines || [String(o.reason)]).join(" ")}`)));
    }
    table.clearSelection();
    refreshButtons();
    try {
      showCounters((await api.batchBrief(id)).batch);
      await loadPage();
      follow();
    } catch (error) {
      showProblem(error);
    }
  }

  async function start(jobIds) {
    actionProblems.replaceChildren();
    try {
      const answer = await api.start(id, jobIds);
      const n = (answer.started || []).length;
      toast(n ? `Step 6 started for ${n} job${n === 1 ? "" : "s"}.` : "Nothing to start: those jobs have already started.");
      table.clearSelection();
      refreshButtons();
      showCounters((await api.batchBrief(id)).batch);
      await loadPage();
      follow();
    } catch (error) {
      actionProblems.replaceChildren(errorList(error.lines));
    }
  }

  async function init() {
    try {
      const batch = (await api.batchBrief(id)).batch;
      showName(batch);
      showCounters(batch);
      await loadPage();
      await countBlocked();
      if (!isSettled(batch.status)) follow();
    } catch (error) {
      showProblem(error);
    }
  }

  init();
  return () => {
    clearTimeout(searchTimer);
    clearTimeout(reloadTimer);
    unfollow();
  };
}
