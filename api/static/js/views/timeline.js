import { api } from "../api.js";
import { h, humanise, seconds, timeElement } from "../dom.js";
import { openStateDialog } from "./state-dialog.js";

const PAGE = 500;
const MANUAL = /^(ManualStatusSet|SubStepReset|EditRefused|ResumeRequested|JobCancelled|SubStepRetryRequested|Step6Started)$/;

function shortType(type) {
  return String(type || "").split(/[.:]/).pop();
}

function detailOf(data = {}) {
  const bits = [];
  if (data.sub_step) bits.push(data.sub_step);
  if (data.previous_status && data.status) bits.push(`${data.previous_status} → ${data.status}`);
  else if (data.status) bits.push(data.status);
  if (data.phase) bits.push(data.phase);
  if (data.attempt) bits.push(`attempt ${data.attempt}`);
  if (Array.isArray(data.cascade) && data.cascade.length) {
    bits.push(`reset ${data.cascade.map((c) => c.sub_step || c.key || c).join(", ")}`);
  }
  if ("resuming_from" in data) bits.push(`last complete phase ${data.resuming_from || "none"}`);
  if (data.resume_plan?.phase) bits.push(`resumes in ${data.resume_plan.phase}`);
  if (data.error) bits.push(data.error);
  if (Array.isArray(data.errors) && data.errors.length) bits.push(data.errors.join("; "));
  return bits.join(" · ");
}

/** The console's own wording where the stored description is too exact for reading. */
function describe(type, d = {}) {
  if (type === "SubStepRetryScheduled" && typeof d.delay === "number") {
    return `${d.sub_step} attempt ${d.attempt} failed (${d.error}); retry in ${seconds(d.delay)}`;
  }
  return "";
}

function reasonOf(event) {
  return event.reason || event.data?.edit?.reason || null;
}

function eventItem(jobId, event) {
  const type = shortType(event.type);
  const reason = reasonOf(event);
  const detail = describe(type, event.data) || event.description || detailOf(event.data);
  const manual = MANUAL.test(type) || String(event.actor || "").startsWith("user:");
  return h("li", { class: ["event", manual && "event-manual", type === "EditRefused" && "event-refused"], dataset: { version: event.version, type } },
    h("div", { class: "event-head" },
      h("span", { class: "event-version" }, `v${event.version}`),
      h("strong", { class: "event-type" }, humanise(type)),
      timeElement(event.at)),
    h("div", { class: "event-meta" },
      h("span", { class: "event-actor" }, h("span", { class: "visually-hidden" }, "Actor: "), event.actor || "—"),
      reason ? h("span", { class: "event-reason" }, h("span", { class: "visually-hidden" }, "Reason: "), `“${reason}”`) : null),
    detail ? h("p", { class: "event-detail" }, detail) : null,
    h("button", { type: "button", class: "link-button", onclick: () => openStateDialog(jobId, event.version) },
      "State at this point", h("span", { class: "visually-hidden" }, ` (version ${event.version})`)));
}

/** A job's events, newest first, fetched incrementally as the job's version moves on. */
export function createTimeline(jobId) {
  const events = [];
  let after = 0;
  let onlyManual = false;
  const list = h("ol", { class: "timeline", "aria-label": "Events, newest first" });
  const toggle = h("input", { type: "checkbox", id: "only-manual" });
  toggle.addEventListener("change", () => {
    onlyManual = toggle.checked;
    draw();
  });

  function draw() {
    const shown = events.filter((e) => !onlyManual || MANUAL.test(shortType(e.type)) || String(e.actor || "").startsWith("user:"));
    list.replaceChildren(...shown.slice().reverse().map((e) => eventItem(jobId, e)));
  }

  async function fetchNew() {
    const before = events.length;
    let fresh;
    do {
      const answer = await api.events(jobId, after);
      fresh = (answer.events || []).filter((e) => e.version > after);
      events.push(...fresh);
      if (fresh.length) after = fresh[fresh.length - 1].version;
    } while (fresh.length >= PAGE);
    if (events.length > before) draw();
  }

  let running = null;
  function refresh() {
    running = running || fetchNew().finally(() => (running = null));
    return running;
  }

  const element = h("div", { class: "timeline-box" },
    h("div", { class: "check" }, toggle, h("label", { for: "only-manual" }, "Only operator actions")), list);
  return { element, refresh };
}
