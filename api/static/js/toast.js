import { h } from "./dom.js";

const MAX_SHOWN = 3;

/** Show a short message in the polite live region; errors stay until dismissed. */
export function toast(message, kind = "info") {
  const region = document.getElementById("toasts");
  const close = h("button", { class: "toast-close", type: "button", "aria-label": "Dismiss" }, "×");
  const item = h("div", { class: ["toast", `toast-${kind}`] }, h("span", {}, message), close);
  close.addEventListener("click", () => item.remove());
  region.append(item);
  while (region.children.length > MAX_SHOWN) region.firstElementChild.remove();
  if (kind !== "error") setTimeout(() => item.remove(), 4500);
}
