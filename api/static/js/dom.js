const SVG_NS = "http://www.w3.org/2000/svg";

function assign(el, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else if (name === "class") {
      el.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    } else if (name in el && typeof value !== "string" && !(el instanceof SVGElement)) {
      el[name] = value;
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An HTML element: h("button", {class: "primary", onclick}, "Save"). */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  assign(el, attrs);
  append(el, children);
  return el;
}

/** An SVG element, same calling convention as h(). */
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  assign(el, attrs);
  append(el, children);
  return el;
}

/** Replace an element's children, skipping null, undefined and false. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toLocaleString(undefined, {
    year: "numeric", month: "short", day: "numeric",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  });
}

export function timeElement(iso) {
  return h("time", { datetime: iso || "", title: iso || "" }, formatTime(iso));
}

/** An identifier as words: "Step6Started" -> "Step 6 started", "SubStepFailed" -> "Sub-step failed". */
export function humanise(text) {
  const words = String(text || "")
    .replace(/([a-z])([A-Z0-9])/g, "$1 $2")
    .replace(/([0-9])([A-Za-z])/g, "$1 $2")
    .replace(/_/g, " ")
    .toLowerCase()
    .replace(/\bsub step\b/g, "sub-step");
  return words.replace(/^./, (c) => c.toUpperCase());
}

/** Seconds rounded for reading: 1.73205 -> "1.7 s". */
export function seconds(value) {
  return `${Number(value).toFixed(1)} s`;
}

export function prettyJson(value) {
  return h("pre", { class: "json" }, JSON.stringify(value ?? {}, null, 2));
}
