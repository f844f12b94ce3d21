import { PHASES, SUB_STEPS } from "./plan.js";

export const NODE = { width: 192, height: 58, columnGap: 40, rowGap: 14, pad: 24, bandTop: 36 };

function localRanks() {
  const rank = {};
  const byKey = Object.fromEntries(SUB_STEPS.map((s) => [s.key, s]));
  const rankOf = (key) => {
    if (rank[key] !== undefined) return rank[key];
    const step = byKey[key];
    const inPhase = step.depends_on.filter((d) => byKey[d].phase === step.phase);
    rank[key] = inPhase.length ? 1 + Math.max(...inPhase.map(rankOf)) : 0;
    return rank[key];
  };
  SUB_STEPS.forEach((s) => rankOf(s.key));
  return rank;
}

function columnsOf() {
  const rank = localRanks();
  const column = {};
  const phaseColumns = {};
  let start = 0;
  for (const phase of PHASES) {
    const steps = SUB_STEPS.filter((s) => s.phase === phase);
    const width = steps.length ? 1 + Math.max(...steps.map((s) => rank[s.key])) : 0;
    steps.forEach((s) => (column[s.key] = start + rank[s.key]));
    phaseColumns[phase] = { first: start, last: start + width - 1 };
    start += width;
  }
  return { column, phaseColumns, count: start };
}

function rowsOf(column, count) {
  const row = {};
  const members = Array.from({ length: count }, () => []);
  SUB_STEPS.forEach((s, order) => members[column[s.key]].push({ step: s, order }));
  const tallest = Math.max(...members.map((m) => m.length));
  for (const group of members) {
    const weight = ({ step, order }) => {
      const rows = step.depends_on.map((d) => row[d]).filter((r) => r !== undefined);
      return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : order;
    };
    group.sort((a, b) => weight(a) - weight(b) || a.order - b.order);
    const offset = (tallest - group.length) / 2;
    group.forEach(({ step }, index) => (row[step.key] = offset + index));
  }
  return { row, tallest };
}

/** Where each sub-step's badge and each phase's band sit: columns by phase, then by dependency depth. */
export function planLayout() {
  const { column, phaseColumns, count } = columnsOf();
  const { row, tallest } = rowsOf(column, count);
  const x = (c) => NODE.pad + c * (NODE.width + NODE.columnGap);
  const y = (r) => NODE.bandTop + NODE.pad + r * (NODE.height + NODE.rowGap);
  const nodes = Object.fromEntries(
    SUB_STEPS.map((s) => [s.key, { x: x(column[s.key]), y: y(row[s.key]), column: column[s.key], ...s }]),
  );
  const height = y(tallest) - NODE.rowGap + NODE.pad;
  const bands = PHASES.map((phase) => {
    const { first, last } = phaseColumns[phase];
    const left = x(first) - NODE.columnGap / 2 + 4;
    const right = x(last) + NODE.width + NODE.columnGap / 2 - 4;
    return { phase, x: left, width: right - left, y: 4, height: height - 8 };
  });
  const edges = SUB_STEPS.flatMap((s) => s.depends_on.map((d) => ({ from: d, to: s.key })));
  return { nodes, bands, edges, width: x(count) - NODE.columnGap + NODE.pad, height };
}

function blockerBelow(nodes, from, to, y1, y2) {
  let lowest = null;
  for (const other of Object.values(nodes)) {
    if (other.column <= from.column || other.column >= to.column) continue;
    const t = (other.x + NODE.width / 2 - from.x - NODE.width) / (to.x - from.x - NODE.width);
    const lineY = y1 + (y2 - y1) * t;
    const middle = other.y + NODE.height / 2;
    if (Math.abs(middle - lineY) < NODE.height * 0.8) {
      const clear = other.y + NODE.height + 12 - lineY;
      lowest = Math.max(lowest ?? 0, clear);
    }
  }
  return lowest;
}

/** An edge's SVG path: a smooth curve, bent below any badge it would otherwise cross. */
export function edgePath(nodes, fromKey, toKey) {
  const from = nodes[fromKey];
  const to = nodes[toKey];
  const x1 = from.x + NODE.width;
  const y1 = from.y + NODE.height / 2;
  const x2 = to.x - 6;
  const y2 = to.y + NODE.height / 2;
  const bend = Math.max(24, (x2 - x1) / 2);
  const dip = blockerBelow(nodes, from, to, y1, y2);
  if (dip === null) return `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`;
  const low = Math.max(y1, y2) + dip;
  const mid = (x1 + x2) / 2;
  return `M${x1},${y1} C${x1 + 30},${y1} ${x1 + 10},${low} ${mid},${low} S${x2 - 30},${y2} ${x2},${y2}`;
}
