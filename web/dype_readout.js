// DyPE readout: the pure part of the frontend extension (no DOM, no ComfyUI imports).
//
// ComfyUI loads every .js file under WEB_DIRECTORY as an extension script, so this module
// only defines and exports functions; web/dype.js wires them to the page.
//
// The server sends one "dype.readout" message per sampling run, once it has ended, made from what the
// run's model calls received (nodes/readout.py):
// { node, model, width, height, grid: [rows, cols], base: [rows, cols], scales: [rows, cols],
//   method, active, degenerate, degenerate_cause, mu, time_shift, summary, t: [...], kappa: [...], pairs,
//   changed: [[rows], [cols]], frames, base_frames (null for image models), time_scale, time_method,
//   time_active, time_changed: [...], sizes: [[frames, rows, cols], ...] (the model calls' sizes, the plan's first),
//   attention: ["SEGA magnitudes rows 1.000..1.244, cols 1.000..1.238", "proportional attention x1.15"] (what
//   changes the attention, one line each; empty when nothing does), magnitudes: [[rows lo, hi], [cols lo, hi]]
//   per step (SEGA only), guide: [...] (a DyPE Guide's weight per step; empty without one) }
// Sizes are shown width x height everywhere: pixels, tokens, base and scales. Readouts stored by earlier
// versions lack degenerate_cause, time_active, sizes, attention, magnitudes and guide; they still show.

/** The schema id of the DyPE node (node.comfyClass / node.type in the page). */
export const NODE_TYPE = "DyPE";

/** Where the last readout is kept on the node (node.properties is saved with the workflow). */
export const PROPERTY = "dype_readout";

/** The fields of a readout that are kept; anything else the server may add is dropped. */
const FIELDS = [
  "node", "model", "width", "height", "grid", "base", "scales", "method", "active", "degenerate",
  "degenerate_cause", "mu", "time_shift", "summary", "t", "kappa", "pairs", "changed",
  "frames", "base_frames", "time_scale", "time_method", "time_active", "time_changed", "sizes", "attention",
  "magnitudes", "guide",
];

/** Sizes named in the "model calls at N sizes" line; the rest are counted. */
const NAMED_SIZES = 3;

/** Colours of the chart's series, in drawing order (exported for the tests). */
export const CHART_COLORS = { kappa: "#f0b429", rows: "#4ea1ff", cols: "#ff6b9a", guide: "#7ee787" };

const TEXT_COLOR = "#b8b8b8";
const GRID_COLOR = "#555555";
const BACKGROUND = "#1e1e1e";

const isNum = (v) => typeof v === "number" && Number.isFinite(v);
const numbers = (v) => (Array.isArray(v) ? v.map((x) => (isNum(x) ? x : 0)) : []);
const pair = (v) => (Array.isArray(v) && v.length >= 2 ? [v[0], v[1]] : [undefined, undefined]);

/** Integers as they are (4096), others in 3 significant digits without trailing zeros (1.15); "?" if not a number. */
export function fmt(value) {
  if (!isNum(value)) return "?";
  return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(3)));
}

/** Whether a graph node is a DyPE node (and not null or any other type). */
export function isDyPENode(node) {
  return node != null && (node.comfyClass ?? node.type) === NODE_TYPE;
}

/**
 * The time line's verdict: "x1.95 RIFLEx" when some time pair changes, else "untouched" and why.
 * Readouts without time_active (stored by earlier versions) infer it from the scale and the method.
 */
function timeText(d) {
  const longer = isNum(d.time_scale) && d.time_scale > 1;
  const off = d.method === "off" || d.time_method === "off";
  const active = typeof d.time_active === "boolean" ? d.time_active : longer && !off;
  if (active) return `x${fmt(d.time_scale)} ${d.time_method ?? "?"}`;
  if (!longer) return "untouched";
  if (d.method === "off") return "untouched (method off)";
  if (d.time_method === "off") return "untouched (time_axis off)";
  return `untouched (x${fmt(d.time_scale)}: ${d.time_method ?? "?"} changes no pair)`;
}

/** "model calls at 2 sizes: 64x64, 32x32 tokens" (width x height) when the run's model calls saw several
 * sizes, else null. */
function sizesText(d) {
  const sizes = Array.isArray(d.sizes) ? d.sizes.filter((s) => Array.isArray(s) && s.length >= 3) : [];
  if (sizes.length < 2) return null;
  const video = isNum(d.base_frames);
  const name = ([f, r, c]) => (video ? `${fmt(c)}x${fmt(r)} tokens x ${fmt(f)} frames` : `${fmt(c)}x${fmt(r)}`);
  const names = sizes.slice(0, NAMED_SIZES).map(name);
  if (sizes.length > NAMED_SIZES) names.push(`${sizes.length - NAMED_SIZES} more`);
  return `model calls at ${sizes.length} sizes: ${names.join(", ")}${video ? "" : " tokens"}`;
}

/** Text for the node: {badge, lines, title}. Tolerates missing fields (it never throws on an object). */
export function formatReadout(detail) {
  const d = detail ?? {};
  const [rows, cols] = pair(d.scales);
  const [gr, gc] = pair(d.grid);
  const [br, bc] = pair(d.base);
  const base = `${fmt(bc)}x${fmt(br)}`;
  const method = d.method ?? "?";
  const mu = isNum(d.mu) ? d.mu : null;
  const video = isNum(d.base_frames);

  let badge;
  if (d.active === true) {
    const time = video && d.time_active === true ? ` · time x${fmt(d.time_scale)}` : "";
    badge = `DyPE ${fmt(cols)}x${fmt(rows)}${time} · ${method}${mu === null ? "" : ` · mu ${fmt(mu)}`}`;
  } else if (method === "off") badge = "DyPE off (method off)";
  else {
    const spatial = [rows, cols].every((s) => !isNum(s) || s <= 1);
    const time = !video || !isNum(d.time_scale) || d.time_scale <= 1;
    badge = spatial && time ? `DyPE inactive (≤ base ${base})` : "DyPE inactive (no frequency changes)";
  }

  const lines = [`${d.model ?? "model ?"} · ${fmt(d.width)}x${fmt(d.height)} px`];
  const ratio = isNum(gr) && isNum(gc) && isNum(br) && isNum(bc) && br * bc > 0 ? (gr * gc) / (br * bc) : NaN;
  lines.push(`tokens ${fmt(gc)}x${fmt(gr)} vs base ${base}: ${fmt(ratio)}x`);
  lines.push(`scale width ${fmt(cols)} · height ${fmt(rows)}`);
  if (video) lines.push(`time ${fmt(d.frames)} frames vs trained ${fmt(d.base_frames)}: ${timeText(d)}`);
  const sizes = sizesText(d);
  if (sizes !== null) lines.push(sizes);
  const kappa = Array.isArray(d.kappa) ? d.kappa : [];
  const steps = kappa.length ? ` · ${kappa.length} steps, k(t) ${fmt(kappa[0])} → ${fmt(kappa.at(-1))}` : "";
  lines.push(`method ${method}${steps}`);
  if (Array.isArray(d.attention)) lines.push(...d.attention.filter((line) => typeof line === "string"));
  const guide = numbers(d.guide);
  if (guide.length) lines.push(`guide weight ${fmt(guide[0])} → ${fmt(guide.at(-1))} over ${guide.length} steps`);
  lines.push(mu === null ? "time shift: the model's own (no mu)" : `mu ${fmt(mu)} (time shift ${d.time_shift ?? "?"})`);
  if (d.degenerate === true) {
    const cause = typeof d.degenerate_cause === "string" && d.degenerate_cause ? d.degenerate_cause : null;
    lines.push(cause ?? "degenerate schedule: k(t) cannot relax");
  }
  return { badge, lines, title: typeof d.summary === "string" ? d.summary : "" };
}

/**
 * Draw k(t), the fraction of changed rotary pairs per axis and a DyPE Guide's weight over the steps, inside
 * [0, width] x [0, height] of a CanvasRenderingContext2D-like `ctx`. One polyline per series;
 * a single step is drawn as a flat line across the plot; no steps gives an empty frame.
 */
export function drawChart(ctx, detail, width, height) {
  const d = detail ?? {};
  const pad = 4;
  const legend = 12; // the legend row at the top
  const left = pad, right = width - pad, top = pad + legend, bottom = height - pad;

  ctx.fillStyle = BACKGROUND;
  ctx.fillRect(0, 0, width, height);
  ctx.font = "10px sans-serif";
  ctx.textBaseline = "top";
  if (right - left < 2 || bottom - top < 2) return; // too small to draw anything useful

  const kappa = numbers(d.kappa);
  const pairs = isNum(d.pairs) && d.pairs > 0 ? d.pairs : 0;
  const changed = Array.isArray(d.changed) ? d.changed : [];
  const fraction = (axis) =>
    (Array.isArray(changed[axis]) ? changed[axis] : []).map((v) => (pairs && isNum(v) ? v / pairs : 0));
  const series = [
    { label: "k(t)", color: CHART_COLORS.kappa, values: kappa },
    { label: "rows changed", color: CHART_COLORS.rows, values: fraction(0) },
    { label: "cols changed", color: CHART_COLORS.cols, values: fraction(1) },
    ...(numbers(d.guide).length ? [{ label: "guide", color: CHART_COLORS.guide, values: numbers(d.guide) }] : []),
  ];
  // k(t) may exceed 1 (Dy-NTK/Dy-PI start at lambda_s); fractions are within [0, 1].
  const yMax = Math.max(1, ...kappa);
  const steps = Math.max(...series.map((s) => s.values.length));

  // Frame: the baseline and the y = 1 line.
  const y = (v) => bottom - (Math.min(Math.max(v, 0), yMax) / yMax) * (bottom - top);
  ctx.strokeStyle = GRID_COLOR;
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(left, y(0));
  ctx.lineTo(right, y(0));
  ctx.moveTo(left, y(1));
  ctx.lineTo(right, y(1));
  ctx.stroke();

  // Legend, clipped by maxWidth so it stays inside the canvas.
  const slot = (right - left) / series.length;
  series.forEach((s, i) => {
    ctx.fillStyle = s.color;
    ctx.fillText(s.label, left + i * slot, pad, Math.max(1, slot - 2));
  });

  if (steps === 0) {
    ctx.fillStyle = TEXT_COLOR;
    ctx.fillText("no steps", left + 2, top + 2, Math.max(1, right - left - 4));
    return;
  }
  const x = (i) => (steps === 1 ? left : left + (i / (steps - 1)) * (right - left));
  ctx.lineWidth = 1.5;
  for (const s of series) {
    if (!s.values.length) continue;
    ctx.strokeStyle = s.color;
    ctx.beginPath();
    ctx.moveTo(x(0), y(s.values[0]));
    s.values.forEach((v, i) => i > 0 && ctx.lineTo(x(i), y(v)));
    if (s.values.length === 1) ctx.lineTo(right, y(s.values[0])); // one step: a flat line
    ctx.stroke();
  }
  if (yMax > 1) {
    ctx.fillStyle = TEXT_COLOR;
    ctx.fillText(fmt(yMax), left + 2, top, 40);
  }
}

/** Whether `node` has the given id, compared as strings ("7" and 7 match). One id segment, no ":". */
export function nodeIdMatches(node, id) {
  return node != null && id != null && String(node.id) === String(id);
}

const nodesOf = (graph) => {
  const nodes = graph?.nodes ?? graph?._nodes;
  return Array.isArray(nodes) ? nodes : [];
};

/**
 * The node with execution id `id` in `graph`, or null. "7" is a root node; "7:4" is node 4
 * inside the subgraph of root node 7 (node.subgraph.nodes); deeper ids nest the same way.
 */
export function findNode(graph, id) {
  if (graph == null || id == null || id === "") return null;
  const [head, ...rest] = String(id).split(":");
  const node = nodesOf(graph).find((n) => nodeIdMatches(n, head)) ?? null;
  if (node === null || rest.length === 0) return node;
  return findNode(node.subgraph, rest.join(":"));
}

/** Keep a copy of the readout in node.properties (saved with the workflow); returns the copy. */
export function storeReadout(node, detail) {
  const kept = {};
  for (const key of FIELDS) if (detail?.[key] !== undefined) kept[key] = detail[key];
  const copy = JSON.parse(JSON.stringify(kept));
  node.properties ??= {};
  node.properties[PROPERTY] = copy;
  return copy;
}

/** The readout kept on the node, or null if there is none (or it is not a readout). */
export function restoreReadout(node) {
  const value = node?.properties?.[PROPERTY];
  return value && typeof value === "object" && !Array.isArray(value) ? value : null;
}

/**
 * Handle one "dype.readout" message: find its DyPE node in `graph`, keep the readout on it and
 * call `render(node, readout)`. Returns the node, or null (and does nothing) when the message
 * is malformed or the node is gone or is not a DyPE node (e.g. the graph changed since queuing).
 */
export function applyReadout(graph, detail, render) {
  if (detail == null || typeof detail !== "object") return null;
  const node = findNode(graph, detail.node);
  if (!isDyPENode(node)) return null;
  const readout = storeReadout(node, detail);
  render?.(node, readout);
  return node;
}
