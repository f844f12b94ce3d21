import { fill, h, prettyJson } from "../dom.js";

function valueOf(value) {
  if (value === null || value === undefined) return h("span", { class: "muted" }, "—");
  if (typeof value === "object") return prettyJson(value);
  return h("code", {}, String(value));
}

/** The context later sub-steps use, folded from the log by the API. */
export function contextView() {
  const element = h("div", { class: "context" });
  let shown = null;
  function update(context) {
    const fingerprint = JSON.stringify(context);
    if (fingerprint === shown) return;
    shown = fingerprint;
    const { results, ...plain } = context || {};
    const rows = Object.entries(plain).map(([k, v]) => [h("dt", {}, k), h("dd", {}, valueOf(v))]);
    const resultEntries = Object.entries(results || {}).filter(([, v]) => v && Object.keys(v).length);
    fill(element,
      rows.length ? h("dl", { class: "facts facts-wide" }, rows) : h("p", { class: "muted" }, "Nothing in the context yet."),
      resultEntries.length ? h("h3", {}, "Results") : null,
      ...resultEntries.map(([k, v]) => h("details", {}, h("summary", {}, k), prettyJson(v))));
  }
  return { element, update };
}
