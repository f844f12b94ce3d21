import { api, requestKey } from "../api.js";
import { h } from "../dom.js";
import { toast } from "../toast.js";
import { errorList } from "./parts.js";

/** The restaurants a file holds and the batch name it suggests, or an error to show. */
export function readRestaurantsFile(text) {
  let data;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return { error: `The file is not valid JSON: ${error.message}` };
  }
  if (Array.isArray(data)) return { restaurants: data, name: "" };
  if (data && typeof data === "object" && Array.isArray(data.restaurants)) {
    return { restaurants: data.restaurants, name: typeof data.name === "string" ? data.name : "" };
  }
  return { error: 'Expected {"name": ..., "restaurants": [...]} or a list of restaurants.' };
}

/** Upload a restaurants JSON file to create a batch. */
export function createBatchForm({ onCreated }) {
  const file = h("input", { id: "batch-file", name: "file", type: "file", accept: ".json,application/json",
    required: true, "aria-describedby": "batch-file-help" });
  const name = h("input", { id: "batch-name", name: "name", type: "text", autocomplete: "off",
    "aria-describedby": "batch-name-help" });
  const summary = h("p", { class: "file-summary", "aria-live": "polite" });
  const problems = h("div", { class: "form-errors", role: "alert" });
  const submit = h("button", { class: "primary", type: "submit" }, "Create batch");
  let parsed = null;
  // One key per file and name: a second click after a lost answer gets the batch the first made.
  let key = requestKey();
  name.addEventListener("input", () => { key = requestKey(); });

  file.addEventListener("change", async () => {
    problems.replaceChildren();
    key = requestKey();
    parsed = null;
    summary.textContent = "";
    const chosen = file.files[0];
    if (!chosen) return;
    parsed = readRestaurantsFile(await chosen.text());
    if (parsed.error) return problems.replaceChildren(errorList([parsed.error]));
    if (parsed.name && !name.value) name.value = parsed.name;
    const n = parsed.restaurants.length;
    summary.textContent = `${n} restaurant${n === 1 ? "" : "s"} read from ${chosen.name}.`;
  });

  async function create(event) {
    event.preventDefault();
    problems.replaceChildren();
    const missing = [];
    if (!parsed || parsed.error) missing.push(parsed?.error || "Choose a restaurants JSON file.");
    if (!name.value.trim()) missing.push("Give the batch a name.");
    if (missing.length) return problems.replaceChildren(errorList(missing));
    submit.disabled = true;
    try {
      const answer = await api.createBatch(name.value.trim(), parsed.restaurants, key);
      toast(`Batch “${answer.batch.name}” created with ${answer.batch.jobs?.length ?? 0} jobs.`);
      onCreated(answer.batch);
    } catch (error) {
      problems.replaceChildren(errorList(error.lines));
    } finally {
      submit.disabled = false;
    }
  }

  return h("section", { class: "card", "aria-labelledby": "create-title" },
    h("h2", { id: "create-title", class: "card-title" }, "New batch"),
    h("form", { class: "card-body stack", onsubmit: create, novalidate: true },
      h("div", { class: "field" },
        h("label", { for: "batch-file" }, "Restaurants file (JSON)"),
        file,
        h("p", { id: "batch-file-help", class: "hint" },
          'Either {"name": …, "restaurants": […]} or a bare list of restaurants.'),
        summary),
      h("div", { class: "field" },
        h("label", { for: "batch-name" }, "Batch name"),
        name,
        h("p", { id: "batch-name-help", class: "hint" }, "Taken from the file when it has one.")),
      problems,
      h("div", { class: "actions" }, submit)));
}
