import { h } from "../dom.js";

let counter = 0;

/** A modal <dialog> with a heading and a close button; focus returns to the opener on close. */
export function openDialog(title, { wide = false, onClose } = {}) {
  const opener = document.activeElement;
  const id = `dialog-title-${++counter}`;
  const body = h("div", { class: "dialog-body" });
  const close = h("button", { type: "button", class: "icon-button", "aria-label": "Close dialog" }, "×");
  const dialog = h("dialog", { class: ["dialog", wide && "dialog-wide"], "aria-labelledby": id },
    h("div", { class: "dialog-head" }, h("h2", { id }, title), close), body);
  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    dialog.remove();
    if (onClose) onClose();
    if (opener && opener.isConnected) opener.focus();
  });
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) dialog.close();
  });
  document.body.append(dialog);
  dialog.showModal();
  return { dialog, body, close: () => dialog.close() };
}
