import { h } from "./dom.js";
import { render, route, startRouter } from "./router.js";
import { session } from "./session.js";
import { batchView } from "./views/batch.js";
import { batchesView } from "./views/batches.js";
import { jobView } from "./views/job.js";
import { signInView } from "./views/signin.js";

function guarded(view) {
  return (outlet, params) => {
    if (!session.token) {
      document.title = "Sign in · regflow";
      return signInView(outlet, { onSignedIn: render });
    }
    return view(outlet, params);
  };
}

function titled(view, title) {
  return (outlet, params) => {
    document.title = title;
    return view(outlet, params);
  };
}

function showSession() {
  const box = document.getElementById("session");
  const nav = document.querySelector(".topnav");
  nav.hidden = !session.token;
  box.replaceChildren(session.token
    ? h("button", { type: "button", class: "quiet", onclick: () => session.signOut() }, "Sign out")
    : "");
}

route("/", guarded(titled(batchesView, "Batches · regflow")));
route("/batches", guarded(titled(batchesView, "Batches · regflow")));
route("/batches/:id", guarded(titled(batchView, "Batch · regflow")));
route("/jobs/:id", guarded(titled(jobView, "Job · regflow")));

session.onChange((signedIn) => {
  showSession();
  if (!signedIn) render();
});
showSession();
startRouter(document.getElementById("main"));
