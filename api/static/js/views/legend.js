import { h } from "../dom.js";
import { statusBadge } from "../status.js";

const SHOWN = ["pending", "in_progress", "retrying", "completed", "failed", "blocked", "skipped"];

export function legend() {
  return h("ul", { class: "legend", "aria-label": "Status colours" },
    SHOWN.map((status) => h("li", {}, statusBadge(status, { class: "badge-small" }))));
}
