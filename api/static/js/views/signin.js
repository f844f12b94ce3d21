import { api } from "../api.js";
import { h } from "../dom.js";
import { session } from "../session.js";
import { errorList } from "./parts.js";

/** Sign-in with an API key or a JWT, kept for this browser tab only. */
export function signInView(outlet, { onSignedIn }) {
  const input = h("input", { id: "token", name: "token", type: "password", required: true,
    autocomplete: "off", spellcheck: "false", "aria-describedby": "token-help" });
  const reveal = h("input", { id: "reveal", type: "checkbox" });
  reveal.addEventListener("change", () => (input.type = reveal.checked ? "text" : "password"));
  const problems = h("div", { class: "form-errors", role: "alert" });
  const submit = h("button", { class: "primary", type: "submit" }, "Sign in");

  async function signIn(event) {
    event.preventDefault();
    problems.replaceChildren();
    if (!input.value.trim()) {
      problems.replaceChildren(errorList(["Enter an API key or a token."]));
      return input.focus();
    }
    submit.disabled = true;
    try {
      await api.checkToken(input.value.trim());
      session.signIn(input.value);
      onSignedIn();
    } catch (error) {
      const lines = error.status === 401 ? ["That key or token was not accepted."] : error.lines;
      problems.replaceChildren(errorList(lines));
      input.focus();
    } finally {
      submit.disabled = false;
    }
  }

  outlet.append(
    h("section", { class: "signin card", "aria-labelledby": "signin-title" },
      h("h1", { id: "signin-title" }, "Sign in to the operator console"),
      h("p", { class: "muted" }, "Watch batches, repair jobs and audit every change of Step 6."),
      h("form", { onsubmit: signIn, novalidate: true },
        h("label", { for: "token" }, "API key or token"),
        input,
        h("p", { id: "token-help", class: "hint" },
          "An API key from REGFLOW_API_KEYS or a JWT. It is kept only in this tab and forgotten when you close it."),
        h("div", { class: "check" }, reveal, h("label", { for: "reveal" }, "Show what I type")),
        problems,
        h("div", { class: "actions" }, submit))));
  input.focus();
}
