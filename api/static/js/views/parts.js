import { h } from "../dom.js";
import { poll } from "../poll.js";
import { counts } from "../shapes.js";

export function errorList(lines) {
  return h("ul", { class: "error-list" }, lines.map((line) => h("li", {}, line)));
}

export function breadcrumbs(...items) {
  const last = items.length - 1;
  return h("nav", { class: "crumbs", "aria-label": "Breadcrumb" },
    h("ol", {}, items.map(([label, href], i) =>
      h("li", {}, i === last || !href ? h("span", { "aria-current": i === last ? "page" : undefined }, label)
        : h("a", { href, "data-link": true }, label)))));
}

/** A stacked bar of completed, failed, running and pending jobs, with a text equivalent. */
export function progressBar(source) {
  const c = counts(source);
  const share = (n) => (c.total ? (100 * n) / c.total : 0);
  const part = (cls, n) => {
    const seg = h("span", { class: ["bar-part", cls] });
    seg.style.width = `${share(n)}%`;
    return seg;
  };
  const text = `${c.percent}% done: ${c.completed} completed, ${c.failed} failed, ${c.inProgress} running, ${c.pending} pending of ${c.total}`;
  return h("div", { class: "bar-wrap" },
    h("div", { class: "bar", role: "img", "aria-label": text, title: text },
      part("bar-completed", c.completed), part("bar-failed", c.failed),
      part("bar-cancelled", c.cancelled), part("bar-running", c.inProgress)),
    h("span", { class: "bar-percent", "aria-hidden": "true" }, `${c.percent}%`));
}

export function loading(text = "Loading…") {
  return h("p", { class: "loading", role: "status" }, text);
}

export function problemBanner(error) {
  return h("div", { class: "banner banner-error", role: "alert" }, errorList(error.lines || [String(error)]));
}

/** Refresh a page every 1.5 s, showing a problem banner while refreshing fails. */
export function pollRefresh(refresh, problem) {
  return poll(async () => {
    try {
      await refresh();
      problem.replaceChildren();
    } catch (error) {
      problem.replaceChildren(problemBanner(error));
    }
  }, 1500);
}
