import { api } from "../api.js";
import { h, timeElement } from "../dom.js";
import { poll } from "../poll.js";
import { navigate } from "../router.js";
import { counts } from "../shapes.js";
import { statusBadge } from "../status.js";
import { createBatchForm } from "./create-batch.js";
import { loading, problemBanner, progressBar } from "./parts.js";

function batchRow(batch) {
  const c = counts(batch);
  return h("tr", { dataset: { batchId: batch.id } },
    h("th", { scope: "row" }, h("a", { href: `/batches/${encodeURIComponent(batch.id)}`, "data-link": true }, batch.name || batch.id)),
    h("td", {}, statusBadge(batch.status)),
    h("td", { class: "cell-progress" }, progressBar(batch),
      h("span", { class: "progress-note" }, `${c.completed} completed · ${c.failed} failed · ${c.inProgress} running`)),
    h("td", { class: "num" }, String(c.total)),
    h("td", { class: "cell-time" }, timeElement(batch.created_at)));
}

function batchTable(batches) {
  if (!batches.length) {
    return h("p", { class: "empty" }, "No batches yet. Upload a restaurants file to create the first one.");
  }
  const heads = [["Batch"], ["Status"], ["Progress"], ["Jobs", "num"], ["Created"]];
  return h("div", { class: "table-scroll" },
    h("table", { class: "data" },
      h("caption", { class: "visually-hidden" }, "Registration batches"),
      h("thead", {}, h("tr", {}, heads.map(([t, cls]) => h("th", { scope: "col", class: cls }, t)))),
      h("tbody", {}, batches.map(batchRow))));
}

/** Every batch of the organisation, refreshed while the page is open, and the upload form. */
export function batchesView(outlet) {
  const list = h("div", { class: "card-body" }, loading());
  const problem = h("div");
  outlet.append(
    h("div", { class: "page-head" }, h("h1", {}, "Batches")),
    problem,
    h("div", { class: "layout-two" },
      h("section", { class: "card", "aria-labelledby": "batches-title" },
        h("h2", { id: "batches-title", class: "card-title" }, "All batches"), list),
      createBatchForm({ onCreated: (batch) => navigate(`/batches/${encodeURIComponent(batch.id)}`) })));

  let shown = null;
  return poll(async () => {
    try {
      const answer = await api.listBatches();
      const batches = answer.batches || answer.items || [];
      const fingerprint = JSON.stringify(batches);
      if (fingerprint !== shown) list.replaceChildren(batchTable(batches));
      shown = fingerprint;
      problem.replaceChildren();
    } catch (error) {
      problem.replaceChildren(problemBanner(error));
    }
  }, 3000);
}
