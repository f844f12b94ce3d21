import { h } from "./dom.js";

const STATUSES = {
  pending: { label: "Pending", icon: "○" },
  in_progress: { label: "Running", icon: "◔" },
  retrying: { label: "Retrying", icon: "↻" },
  completed: { label: "Completed", icon: "✓" },
  failed: { label: "Failed", icon: "✕" },
  skipped: { label: "Skipped", icon: "⤼" },
  blocked: { label: "Blocked", icon: "⊘" },
  cancelled: { label: "Cancelled", icon: "■" },
  partially_completed: { label: "Partly completed", icon: "◑" },
};

export function statusInfo(status) {
  const key = String(status || "pending");
  return { key, ...(STATUSES[key] || { label: key.replace(/_/g, " "), icon: "•" }) };
}

/** A status badge: a coloured pill with an icon and a text label, never colour alone. */
export function statusBadge(status, attrs = {}) {
  const info = statusInfo(status);
  return h(
    "span",
    { ...attrs, class: ["badge", `status-${info.key}`, attrs.class], dataset: { status: info.key } },
    h("span", { class: "badge-icon", "aria-hidden": "true" }, info.icon),
    info.label,
  );
}
