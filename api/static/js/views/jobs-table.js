import { h } from "../dom.js";
import { lastError, phaseLabel, restaurantName } from "../shapes.js";
import { statusBadge } from "../status.js";

const EMPTY = {
  all: "This batch has no jobs.",
  failed: "No failed jobs.",
  running: "No job is running.",
  blocked: "No job is blocked.",
};

/** The jobs of a batch, updated row by row so focus and selection survive each refresh. */
export function jobsTable({ onSelectionChange }) {
  const chosen = new Set();
  const rows = new Map();
  const body = h("tbody");
  const empty = h("p", { class: "empty", hidden: true });
  const all = h("input", { type: "checkbox", "aria-label": "Select every job shown" });
  all.addEventListener("change", () => {
    for (const [id, row] of rows) {
      if (!row.tr.isConnected) continue;
      row.box.checked = all.checked;
      if (all.checked) chosen.add(id);
      else chosen.delete(id);
    }
    onSelectionChange();
  });
  const heads = ["Restaurant", "Status", "Current phase", "Last error"];
  const table = h("table", { class: "data jobs" },
    h("caption", { class: "visually-hidden" }, "Jobs of this batch"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col", class: "cell-check" }, all), heads.map((t) => h("th", { scope: "col" }, t)))),
    body);

  function rowFor(job) {
    if (rows.has(job.id)) return rows.get(job.id);
    const box = h("input", { type: "checkbox" });
    box.addEventListener("change", () => {
      if (box.checked) chosen.add(job.id);
      else chosen.delete(job.id);
      onSelectionChange();
    });
    const cells = { name: h("th", { scope: "row" }), status: h("td"), phase: h("td"), error: h("td", { class: "cell-error" }) };
    const tr = h("tr", { dataset: { jobId: job.id } }, h("td", { class: "cell-check" }, box), cells.name, cells.status, cells.phase, cells.error);
    const row = { tr, box, cells, shown: "" };
    rows.set(job.id, row);
    return row;
  }

  const latest = new Map();
  function fill(row, job) {
    latest.set(job.id, job);
    const fingerprint = JSON.stringify(job);
    if (fingerprint === row.shown) return;
    row.shown = fingerprint;
    const name = restaurantName(job);
    row.box.setAttribute("aria-label", `Select ${name}`);
    row.cells.name.replaceChildren(h("a", { href: `/jobs/${encodeURIComponent(job.id)}`, "data-link": true }, name));
    row.cells.status.replaceChildren(statusBadge(job.status));
    row.cells.phase.textContent = phaseLabel(job.current_phase);
    const error = lastError(job);
    row.cells.error.replaceChildren(error ? h("span", { class: "error-text", title: error }, error) : h("span", { class: "muted" }, "—"));
  }

  function update(jobs, filter) {
    const wanted = jobs.map((job) => {
      const row = rowFor(job);
      fill(row, job);
      return row.tr;
    });
    const same = wanted.length === body.children.length && wanted.every((tr, i) => body.children[i] === tr);
    if (!same) body.replaceChildren(...wanted);
    empty.hidden = jobs.length > 0;
    empty.textContent = EMPTY[filter] || EMPTY.all;
    const visible = jobs.map((j) => j.id);
    all.checked = visible.length > 0 && visible.every((id) => chosen.has(id));
  }

  return {
    element: h("div", { class: "table-scroll" }, table, empty),
    update,
    selected: () => [...chosen],
    selectedJobs: () => [...chosen].map((id) => latest.get(id)).filter(Boolean),
    clearSelection() {
      chosen.clear();
      rows.forEach((row) => (row.box.checked = false));
    },
  };
}
