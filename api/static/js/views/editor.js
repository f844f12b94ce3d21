import { api, requestKey } from "../api.js";
import { h, formatTime, prettyJson } from "../dom.js";
import { retryText } from "../graph.js";
import { statusBadge } from "../status.js";
import { toast } from "../toast.js";
import { openDialog } from "./dialog.js";
import { errorList } from "./parts.js";
import { relationsSection } from "./relations.js";

const TARGETS = [
  ["completed", "Mark completed", "Record that it was done, e.g. by hand in the admin."],
  ["failed", "Mark failed", "Stop it and everything that depends on it."],
  ["skipped", "Mark skipped", "Let its dependents run without it."],
  ["pending", "Reset to pending", "Run it again on resume, with its dependents."],
];

function facts(key, info, phase) {
  const rows = [["Phase", phase], ["Status", statusBadge(info.status)], ["Attempts", String(info.attempts ?? 0)]];
  if (info.started_at) rows.push(["Started", formatTime(info.started_at)]);
  if (info.completed_at) rows.push(["Finished", formatTime(info.completed_at)]);
  if (info.retry_at) rows.push(["Next try", retryText(info.retry_at)]);
  if (info.error) rows.push(["Error", h("span", { class: "error-text" }, info.error)]);
  const list = h("dl", { class: "facts" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  const result = info.result && Object.keys(info.result).length
    ? h("details", {}, h("summary", {}, "Result"), prettyJson(info.result)) : null;
  return h("section", { class: "stack-tight", "aria-label": `About ${key}` }, list, result);
}

function dryRunReport(answer, target, title = "✓ Dry run: allowed") {
  const parts = [];
  const warnings = answer.warnings || [];
  const cascade = answer.reset || answer.cascade || [];
  if (target === "pending" && cascade.length) {
    parts.push(h("p", {}, "Would reset: ", h("strong", {}, cascade.join(", "))));
  }
  if (warnings.length) parts.push(h("div", { class: "notice notice-warning" }, h("p", {}, "Warnings"), errorList(warnings)));
  if (!parts.length) parts.push(h("p", {}, "The API accepts this edit."));
  return h("div", { class: "dry-run dry-run-ok" }, h("p", { class: "dry-run-title" }, title), parts);
}

function refusalReport(error, heading) {
  return h("div", { class: "dry-run dry-run-refused" }, h("p", { class: "dry-run-title" }, heading), errorList(error.lines));
}

function validationReport(verdict, target) {
  const note = h("p", { class: "hint" }, "Give a reason to preview the change.");
  if (!verdict) return note;
  const report = verdict.valid === false
    ? refusalReport({ lines: verdict.errors || [] }, "✕ Not allowed now")
    : dryRunReport(verdict, target, "✓ Allowed now");
  return h("div", {}, report, note);
}

function editBody(target, reason, resultText, dryRun) {
  const body = { dry_run: dryRun };
  if (reason) body.reason = reason;
  if (target !== "pending") body.status = target;
  if (target === "completed" && resultText.trim()) body.result = JSON.parse(resultText);
  return body;
}

/** The sub-step editor: details, dependencies, a target status with a reason, the dry run, apply. */
export function openEditor({ jobId, key, info, phase, jobStatus, tag, onApplied }) {
  const { body, close } = openDialog(`Sub-step ${key}`, { wide: true });
  const relations = relationsSection(jobId, key);
  const dryRun = h("div", { class: "dry-run-box", "aria-live": "polite" });
  const outcome = h("div", { role: "alert" });
  const reason = h("textarea", { id: "edit-reason", name: "reason", rows: 2, required: true, "aria-required": "true",
    "aria-describedby": "edit-reason-help" });
  const resultText = h("textarea", { id: "edit-result", name: "result", rows: 3, spellcheck: "false", "aria-describedby": "edit-result-help" });
  const resultField = h("div", { class: "field", hidden: true },
    h("label", { for: "edit-result" }, "Result (optional JSON object)"), resultText,
    h("p", { id: "edit-result-help", class: "hint" }, 'Feeds the context, e.g. {"codeInjectionId": "ci-123"}.'));
  const apply = h("button", { class: "primary", type: "submit", disabled: true, "aria-describedby": "apply-why" }, "Apply");
  const applyWhy = h("span", { id: "apply-why", class: "hint why-not" });
  const radios = TARGETS.map(([value, label, help]) => {
    const input = h("input", { type: "radio", name: "target", value, id: `target-${value}`, "aria-describedby": `target-${value}-help` });
    return h("div", { class: "radio" }, input,
      h("label", { for: `target-${value}` }, label, h("span", { id: `target-${value}-help`, class: "hint" }, help)));
  });
  const form = h("form", { class: "stack editor-form", novalidate: true },
    h("fieldset", {}, h("legend", {}, "Change status"), h("div", { class: "radios" }, radios)),
    resultField,
    h("div", { class: "field" }, h("label", { for: "edit-reason" }, "Reason (required)"), reason,
      h("p", { id: "edit-reason-help", class: "hint" }, "Recorded in the job's audit trail with your identity.")),
    dryRun, outcome,
    h("div", { class: "actions" }, applyWhy, h("button", { type: "button", onclick: close }, "Close"), apply));

  const retry = info.status === "retrying" || info.waiting_status === "retrying"
    ? h("div", { class: "notice" }, h("p", {}, "This sub-step is waiting out a retry delay."),
      h("button", { type: "button", onclick: retryNow }, "Retry now")) : null;
  const running = jobStatus === "in_progress";
  const closed = h("div", { class: "notice notice-warning", role: "status" },
    h("p", {}, h("strong", {}, "Editing is closed while the job is running.")),
    h("p", {}, "Manual edits are allowed only when the job is not running: cancel it, or wait for it to stop, then edit."),
    h("div", { class: "actions" }, h("button", { type: "button", onclick: close }, "Close")));
  body.append(h("div", { class: "editor-grid" }, h("div", { class: "stack" }, facts(key, info, phase), retry, relations.element), running ? closed : form));

  const target = () => form.querySelector("input[name=target]:checked")?.value;
  let sequence = 0;
  // One key per edit as written: Apply clicked again after a lost answer is told what the
  // first click did; any change to the status, reason or result makes it another edit.
  let editKey = requestKey();
  form.addEventListener("input", () => { editKey = requestKey(); });

  function whyNot() {
    if (!target()) return "Choose a status first.";
    if (!reason.value.trim()) return "Give a reason first: it is recorded in the audit trail.";
    return "";
  }

  function refreshApply() {
    const why = whyNot();
    apply.disabled = Boolean(why);
    apply.title = why;
    applyWhy.textContent = why;
  }

  relations.answer.then((answer) => {
    for (const [value, verdict] of Object.entries(answer.transitions || {})) {
      const input = form.querySelector(`#target-${value}`);
      if (!input || verdict.valid !== false) continue;
      input.disabled = true;
      if (input.checked) {
        input.checked = false;
        check();
      }
      const why = (verdict.errors || [])[0] || "Not allowed now.";
      input.closest(".radio").classList.add("radio-disallowed");
      input.closest(".radio").append(h("span", { class: "hint why-not" }, `Not allowed now: ${why}`));
    }
  }, () => {});
  refreshApply();

  async function check() {
    outcome.replaceChildren();
    const chosen = target();
    resultField.hidden = chosen !== "completed";
    refreshApply();
    if (!chosen) return;
    const mine = ++sequence;
    if (!reason.value.trim()) {
      const verdict = (await relations.answer.catch(() => null))?.transitions?.[chosen];
      if (mine === sequence) dryRun.replaceChildren(validationReport(verdict, chosen));
      return;
    }
    dryRun.replaceChildren(h("p", { class: "loading" }, "Checking with the API…"));
    try {
      const answer = await send(chosen, reason.value.trim(), true);
      if (mine === sequence) dryRun.replaceChildren(dryRunReport(answer, chosen));
    } catch (error) {
      if (mine === sequence) dryRun.replaceChildren(refusalReport(error, "✕ Dry run: the API would refuse this edit"));
    }
  }

  function send(chosen, why, dry) {
    let edit;
    try {
      edit = editBody(chosen, why, resultText.value, dry);
    } catch (error) {
      return Promise.reject({ lines: [`The result is not valid JSON: ${error.message}`] });
    }
    const once = dry ? undefined : editKey;
    return chosen === "pending" ? api.reset(jobId, key, edit, once, tag) : api.setStatus(jobId, key, edit, once, tag);
  }

  async function submit(event) {
    event.preventDefault();
    const chosen = target();
    if (!chosen || !reason.value.trim()) {
      outcome.replaceChildren(errorList(["Choose a status and give a reason."]));
      return (chosen ? reason : form.querySelector("input[name=target]")).focus();
    }
    apply.disabled = true;
    try {
      const answer = await send(chosen, reason.value.trim(), false);
      const reset = answer.reset?.length ? ` (reset ${answer.reset.join(", ")})` : "";
      toast(chosen === "pending" ? `${key} reset to pending${reset}.` : `${key} marked ${chosen}.`);
      close();
      onApplied();
    } catch (error) {
      outcome.replaceChildren(refusalReport(error, "✕ Refused by the API"));
      apply.disabled = false;
    }
  }

  async function retryNow() {
    try {
      await api.retryNow(jobId, key);
      toast(`${key} will be tried again now.`);
      close();
      onApplied();
    } catch (error) {
      outcome.replaceChildren(refusalReport(error, "✕ Retry now was refused"));
    }
  }

  form.addEventListener("change", (event) => {
    if (event.target.name === "target") check();
  });
  let hadReason = false;
  reason.addEventListener("input", () => {
    const hasReason = Boolean(reason.value.trim());
    refreshApply();
    if (hasReason !== hadReason) check();
    hadReason = hasReason;
  });
  resultText.addEventListener("change", check);
  form.addEventListener("submit", submit);
  if (running) {
    closed.querySelector("button").focus();
    return;
  }
  form.querySelector("input[name=target]").focus();
}
