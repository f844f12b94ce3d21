import { h } from "../dom.js";
import { poll } from "../poll.js";
import { counts } from "../shapes.js";

export function errorList(lines) {
  return h("ul", { class: "error-list" }, lines.map((line) => h("li", {}, line)));
}

export function breadcrumbs(...items) {
  const last = items.length - 1;
  return h("nav", { class: "crumbs", "aria-label": "Breadcrumb" },
    h("ol", {}, items.map(([label, href], i) =>
      h("li", {}, i === last || !href ? h("span", { "aria-current": i === last ? "page" : undefined }, label)
        : h("a", { href, "data-link": true }, label)))));
}

/** Bar segments in order: [css class, label, sub-step statuses it counts]; pending is last. */
const SUB_STEP_PARTS = [
  ["bar-completed", "completed", ["completed"]],
  ["bar-skipped", "skipped", ["skipped"]],
  ["bar-failed", "failed", ["failed", "blocked"]],
  ["bar-running", "running", ["in_progress"]],
  ["bar-retrying", "retrying", ["retrying"]],
  ["bar-pending", "pending", ["pending"]],
];

/** Sub-step counts over jobs (each job summary carries its own `counts`). */
export function subStepCounts(jobs) {
  const total = {};
  for (const job of jobs || []) {
    for (const [status, n] of Object.entries(job.counts || {})) total[status] = (total[status] || 0) + Number(n || 0);
  }
  return total;
}

/** A stacked bar of the batch's sub-steps (so it moves while jobs run), with a text equivalent.
 * The counts are the batch's own `sub_steps` (every job, not only those shown), or else summed
 * over the jobs given; with neither, a bar of jobs. */
export function progressBar(source, jobs = source?.jobs) {
  const c = source?.sub_steps || (jobs && jobs.some((j) => j.counts) ? subStepCounts(jobs) : null);
  if (!c) return jobBar(source);
  const all = Object.values(c).reduce((a, b) => a + Number(b || 0), 0);
  const sum = (keys) => keys.reduce((a, k) => a + Number(c[k] || 0), 0);
  const share = (n) => (all ? (100 * n) / all : 0);
  const part = (cls, label, n) => {
    const seg = h("span", { class: ["bar-part", cls], dataset: { part: label, count: String(n) } });
    seg.style.width = `${share(n)}%`;
    return seg;
  };
  const settled = sum(["completed", "skipped", "failed", "blocked"]);
  const percent = all ? Math.floor((100 * settled) / all) : 0;
  const said = ["completed", "skipped", "failed", "blocked", "in_progress", "retrying", "pending"]
    .filter((k) => c[k]).map((k) => `${c[k]} ${k.replace("_", " ")}`).join(", ");
  const jobsDone = counts(source);
  const text = `${percent}% of sub-steps settled (${said || "none yet"}); ${jobsDone.completed + jobsDone.failed + jobsDone.cancelled} of ${jobsDone.total} jobs finished`;
  return h("div", { class: "bar-wrap" },
    h("div", { class: "bar", role: "img", "aria-label": text, title: text },
      SUB_STEP_PARTS.map(([cls, label, keys]) => part(cls, label, sum(keys)))),
    h("span", { class: "bar-percent", "aria-hidden": "true" }, `${percent}%`));
}

/** A stacked bar of completed, failed, running and pending jobs, for lists without sub-steps. */
function jobBar(source) {
  const c = counts(source);
  const share = (n) => (c.total ? (100 * n) / c.total : 0);
  const part = (cls, n) => {
    const seg = h("span", { class: ["bar-part", cls] });
    seg.style.width = `${share(n)}%`;
    return seg;
  };
  const text = `${c.percent}% done: ${c.completed} completed, ${c.failed} failed, ${c.inProgress} running, ${c.pending} pending of ${c.total}`;
  return h("div", { class: "bar-wrap" },
    h("div", { class: "bar", role: "img", "aria-label": text, title: text },
      part("bar-completed", c.completed), part("bar-failed", c.failed),
      part("bar-cancelled", c.cancelled), part("bar-running", c.inProgress)),
    h("span", { class: "bar-percent", "aria-hidden": "true" }, `${c.percent}%`));
}

/** Disable a button, or enable it, saying why it cannot be used (tooltip and screen readers). */
export function allow(button, why) {
  button.disabled = Boolean(why);
  button.title = why || "";
  if (why) button.setAttribute("aria-description", why);
  else button.removeAttribute("aria-description");
}

export function loading(text = "Loading…") {
  return h("p", { class: "loading", role: "status" }, text);
}

export function problemBanner(error) {
  return h("div", { class: "banner banner-error", role: "alert" }, errorList(error.lines || [String(error)]));
}

/** Refresh a page every 1.5 s, showing a problem banner while refreshing fails. */
export function pollRefresh(refresh, problem) {
  return poll(async () => {
    try {
      await refresh();
      problem.replaceChildren();
    } catch (error) {
      problem.replaceChildren(problemBanner(error));
    }
  }, 1500);
}
