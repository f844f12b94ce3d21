import { api } from "../api.js";
import { fill, h, prettyJson } from "../dom.js";
import { createGraph } from "../graph.js";
import { jobOf, phaseLabel, phaseStatuses, step6Progress, subStepsOf } from "../shapes.js";
import { statusBadge } from "../status.js";
import { openDialog } from "./dialog.js";
import { errorList } from "./parts.js";

/** The job as it stood at `version`, replayed by the API from the log. */
export async function openStateDialog(jobId, version) {
  const { body } = openDialog(`State at version ${version}`, { wide: true });
  body.append(h("p", { class: "loading", role: "status" }, "Replaying the log…"));
  try {
    const answer = await api.stateAt(jobId, version);
    const job = jobOf(answer);
    const progress = step6Progress(job) || answer.sub_step_progress;
    const steps = subStepsOf(progress);
    const graph = createGraph({ label: `Sub-steps at version ${version}` });
    const phases = phaseStatuses(progress, steps, job.status || answer.status);
    graph.update(steps, phases);
    const phaseList = h("ul", { class: "phase-list", "aria-label": "Phases" },
      Object.entries(phases).map(([phase, status]) =>
        h("li", { dataset: { phase } }, `${phaseLabel(phase)} `, statusBadge(status, { class: "badge-small" }))));
    const context = progress?.context || job.context || answer.context;
    fill(body,
      h("p", { class: "title-line" }, "Job status: ", statusBadge(job.status || answer.status),
        h("span", { class: "muted" }, ` at version ${answer.version ?? job.version ?? version}`)),
      phaseList,
      h("div", { class: "graph-scroll" }, graph.element),
      context ? h("details", {}, h("summary", {}, "Context at this point"), prettyJson(context)) : null);
  } catch (error) {
    body.replaceChildren(errorList(error.lines || [String(error)]));
  }
}
