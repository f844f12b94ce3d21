import { h, svg, formatTime, seconds } from "./dom.js";
import { NODE, edgePath, planLayout } from "./layout.js";
import { statusBadge, statusInfo } from "./status.js";
import { phaseLabel } from "./shapes.js";

const LAYOUT = planLayout();

function edgeState(status) {
  if (status === "completed" || status === "skipped") return "satisfied";
  if (status === "failed" || status === "blocked") return "broken";
  return "waiting";
}

function arrowMarkers(uid) {
  const marker = (state) =>
    svg("marker", { id: `${uid}-arrow-${state}`, viewBox: "0 0 10 10", refX: "9", refY: "5",
      markerUnits: "userSpaceOnUse", markerWidth: "9", markerHeight: "9", orient: "auto", class: `arrow-${state}` },
      svg("path", { d: "M0,0 L10,5 L0,10 z" }));
  return svg("defs", {}, ["satisfied", "broken", "waiting"].map(marker));
}

function describe(key, info) {
  const parts = [`${key}: ${statusInfo(info.status).label}`];
  if (info.attempts) parts.push(`${info.attempts} attempt${info.attempts === 1 ? "" : "s"}`);
  if (info.error) parts.push(`error: ${info.error}`);
  return parts.join(", ");
}

/** When a waiting sub-step is tried again: "in 2.0 s", or the time once it is past. */
export function retryText(iso) {
  const wait = (new Date(iso).getTime() - Date.now()) / 1000;
  return wait > 0 ? `in ${seconds(wait)}` : formatTime(iso);
}

function hoverDetails(key, info) {
  const rows = [["Status", statusBadge(info.status)], ["Attempts", String(info.attempts ?? 0)]];
  if (info.waiting_status) rows.push(["Waiting as", statusInfo(info.waiting_status).label]);
  if (info.retry_at) rows.push(["Next try", retryText(info.retry_at)]);
  if (info.started_at) rows.push(["Started", formatTime(info.started_at)]);
  if (info.completed_at) rows.push(["Finished", formatTime(info.completed_at)]);
  if (info.error) rows.push(["Error", h("span", { class: "error-text" }, info.error)]);
  if (info.reason) rows.push(["Reason", info.reason]);
  return [h("strong", {}, key), h("dl", { class: "facts" }, rows.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]))];
}

/** The Step 6 dependency graph: phase bands, edges, and one badge per sub-step, updated in place. */
export function createGraph({ onSelect, label = "Step 6 sub-steps" } = {}) {
  const uid = `graph-${Math.random().toString(36).slice(2, 9)}`;
  const edgeLayer = svg("g", { class: "edges" });
  const bandLayer = svg("g", { class: "bands" });
  const canvas = svg("svg", { class: "graph-svg", width: LAYOUT.width, height: LAYOUT.height,
    viewBox: `0 0 ${LAYOUT.width} ${LAYOUT.height}`, "aria-hidden": "true", focusable: "false" },
    arrowMarkers(uid), bandLayer, edgeLayer);
  const surface = h("div", { class: "graph-surface" }, canvas);
  surface.style.width = `${LAYOUT.width}px`;
  surface.style.height = `${LAYOUT.height}px`;
  const hover = h("div", { class: "hovercard", role: "tooltip", hidden: true });
  surface.append(hover);

  const bandLabels = {};
  const groups = {};
  for (const band of LAYOUT.bands) {
    bandLayer.append(svg("rect", { x: band.x, y: band.y, width: band.width, height: band.height, rx: "10", class: "band" }));
    const title = h("div", { class: "band-label" }, h("span", { class: "band-name" }, phaseLabel(band.phase)), h("span", { class: "band-status" }));
    title.style.left = `${band.x + 10}px`;
    title.style.top = `${band.y + 8}px`;
    title.style.width = `${band.width - 20}px`;
    bandLabels[band.phase] = title;
    groups[band.phase] = h("div", { class: "phase-group", role: "group", "aria-label": phaseLabel(band.phase) }, title);
    surface.append(groups[band.phase]);
  }

  const edges = LAYOUT.edges.map((edge) => {
    const path = svg("path", { d: edgePath(LAYOUT.nodes, edge.from, edge.to), class: "edge" });
    edgeLayer.append(path);
    return { ...edge, path };
  });

  const nodes = {};
  let current = {};
  for (const [key, place] of Object.entries(LAYOUT.nodes)) {
    const tag = onSelect ? "button" : "div";
    const node = h(tag, { class: "node", dataset: { key }, type: onSelect ? "button" : undefined });
    node.style.left = `${place.x}px`;
    node.style.top = `${place.y}px`;
    node.style.width = `${NODE.width}px`;
    node.style.height = `${NODE.height}px`;
    if (onSelect) node.addEventListener("click", () => onSelect(key, current[key]));
    const show = () => showHover(key, place);
    node.addEventListener("pointerenter", show);
    node.addEventListener("focus", show);
    node.addEventListener("pointerleave", hideHover);
    node.addEventListener("blur", hideHover);
    nodes[key] = node;
    groups[place.phase].append(node);
  }

  let hovered = null;
  function showHover(key, place) {
    hovered = key;
    if (!current[key]) return;
    hover.replaceChildren(...hoverDetails(key, current[key]));
    hover.hidden = false;
    hover.style.left = `${Math.min(place.x, LAYOUT.width - hover.offsetWidth)}px`;
    const below = place.y + NODE.height + 6;
    const fits = below + hover.offsetHeight <= LAYOUT.height;
    hover.style.top = `${fits ? below : Math.max(0, place.y - hover.offsetHeight - 6)}px`;
    edges.forEach((e) => e.path.classList.toggle("related", e.from === key || e.to === key));
  }

  function hideHover() {
    hovered = null;
    hover.hidden = true;
    edges.forEach((e) => e.path.classList.remove("related"));
  }

  function update(steps, phases) {
    current = steps;
    for (const [key, node] of Object.entries(nodes)) {
      const info = steps[key] || { status: "pending" };
      const attempts = info.attempts ? `${info.attempts} attempt${info.attempts === 1 ? "" : "s"}` : "";
      node.className = `node status-${statusInfo(info.status).key}`;
      node.dataset.status = info.status;
      node.setAttribute("aria-label", describe(key, info) + (onSelect ? ". Open details and editor" : ""));
      const needs = LAYOUT.nodes[key].depends_on;
      node.replaceChildren(
        h("span", { class: "node-name" }, key),
        h("span", { class: "node-meta" }, statusBadge(info.status), attempts && h("span", { class: "node-attempts" }, attempts)),
        h("span", { class: "node-needs", "aria-hidden": "true" }, needs.length ? `after ${needs.join(", ")}` : "runs first"),
      );
    }
    for (const edge of edges) {
      const state = edgeState(steps[edge.from]?.status);
      edge.path.setAttribute("class", `edge edge-${state}`);
      edge.path.setAttribute("marker-end", `url(#${uid}-arrow-${state})`);
    }
    for (const [phase, title] of Object.entries(bandLabels)) {
      title.querySelector(".band-status").replaceChildren(statusBadge(phases[phase], { class: "badge-small" }));
      title.dataset.status = phases[phase];
    }
    if (hovered && !hover.hidden) showHover(hovered, LAYOUT.nodes[hovered]);
  }

  const element = h("div", { class: "graph", role: "group", "aria-label": label, tabindex: "-1" }, surface);
  return { element, update, focus: (key) => nodes[key]?.focus() };
}
