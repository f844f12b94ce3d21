import { api } from "../api.js";
import { fill, h } from "../dom.js";
import { statusBadge } from "../status.js";
import { errorList } from "./parts.js";

const TARGET_LABELS = { completed: "Mark completed", failed: "Mark failed", skipped: "Mark skipped", pending: "Reset to pending" };

function relationList(items, emptyText, withSatisfied) {
  if (!items.length) return h("p", { class: "muted" }, emptyText);
  return h("ul", { class: "relations" }, items.map((item) => {
    const name = item.sub_step || item.key || item;
    const satisfied = withSatisfied && item.satisfied !== undefined
      ? h("span", { class: item.satisfied ? "ok-text" : "error-text" }, item.satisfied ? "satisfied" : "not satisfied") : null;
    return h("li", {}, h("span", { class: "relation-name" }, name), item.status ? statusBadge(item.status, { class: "badge-small" }) : null, satisfied);
  }));
}

function transitionsList(transitions) {
  const entries = Object.entries(transitions || {});
  if (!entries.length) return null;
  return h("ul", { class: "transitions" }, entries.map(([target, answer]) => {
    const label = TARGET_LABELS[target] || target;
    const valid = answer.valid !== false;
    return h("li", { class: valid ? "ok-text" : "error-text" },
      h("span", {}, `${valid ? "✓" : "✕"} ${label}: ${valid ? "allowed" : "not allowed"}`),
      !valid && answer.errors?.length ? errorList(answer.errors) : null);
  }));
}

/** Dependencies, dependents and what each edit would be allowed to do, from the validation route. */
export function relationsSection(jobId, key) {
  const content = h("div", {}, h("p", { class: "loading" }, "Loading dependencies…"));
  const element = h("section", { class: "relations-box", "aria-labelledby": "relations-title" },
    h("h3", { id: "relations-title" }, "Dependencies and dependents"), content);
  const answer = api.validation(jobId, key);
  answer.then((answer) => {
    fill(content,
      h("h4", {}, "Depends on"), relationList(answer.dependencies || [], "Nothing: it can run first.", true),
      h("h4", {}, "Needed by"), relationList(answer.dependents || [], "Nothing depends on it.", false),
      h("h4", {}, "Edits"), transitionsList(answer.transitions));
  }, (error) => content.replaceChildren(errorList(error.lines)));
  return { element, answer };
}
