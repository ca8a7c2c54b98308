// Unit tests of web/dype_readout.js (the pure part of the frontend extension).
// Run: node --test tests/js/
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  CHART_COLORS, PROPERTY, applyReadout, drawChart, findNode, fmt, formatReadout, isDyPENode,
  nodeIdMatches, restoreReadout, storeReadout,
} from "../../web/dype_readout.js";

// Payloads as nodes/readout.py builds them (FLUX.1, simple scheduler).
const ACTIVE = {
  node: "7", model: "FLUX.1", width: 4096, height: 4096, grid: [256, 256], base: [64, 64],
  scales: [4.0, 4.0], method: "Dy-YaRN", active: true, degenerate: false, degenerate_cause: "", mu: 1.15,
  time_shift: "model",
  summary: "FLUX.1 4096x4096 px -> 256x256 tokens (base 64x64), scale width 4 height 4, Dy-YaRN, 6 steps: "
    + "k(t) 1 -> 0.15, attention x1.139",
  t: [1.0, 0.9404, 0.8633, 0.7595, 0.6123, 0.3871],
  kappa: [1.0, 0.8844, 0.7453, 0.5769, 0.3749, 0.1499],
  pairs: 28, changed: [[27, 27, 27, 27, 26, 23], [27, 27, 27, 27, 26, 23]],
  time_active: false, sizes: [[1, 256, 256]],
};
// A Wan clip at its spatial base, frames latent frames against the trained 21 (time_axis RIFLEx).
const WAN = {
  node: "3", model: "Wan", width: 1280, height: 720, grid: [45, 80], base: [45, 80], scales: [1.0, 1.0],
  method: "Dy-YaRN", active: false, degenerate: false, degenerate_cause: "", mu: 1.609, time_shift: "model",
  summary: "Wan ...", t: [1.0, 0.5], kappa: [1.0, 0.25], pairs: 11, changed: [[0, 0], [0, 0]],
  frames: 22, base_frames: 21, time_scale: 1.0476, time_method: "RIFLEx", time_active: false,
  time_changed: [0, 0], sizes: [[22, 45, 80]],
};
// A readout as versions before time_active, degenerate_cause and sizes stored it in a workflow.
const STORED_BEFORE = {
  node: "7", model: "FLUX.1", width: 2048, height: 2048, grid: [128, 128], base: [64, 64], scales: [2.0, 2.0],
  method: "Dy-YaRN", active: true, degenerate: true, mu: 20, time_shift: "custom", summary: "FLUX.1 ...",
  t: [1.0], kappa: [1.0], pairs: 28, changed: [[27], [27]],
};
const INACTIVE = {
  ...ACTIVE, width: 1024, height: 1024, grid: [64, 64], scales: [1.0, 1.0], active: false, mu: null,
  summary: "FLUX.1 1024x1024 px -> 64x64 tokens (base 64x64), ...: inactive", t: [1.0, 0.9045, 0.7595, 0.5128],
  kappa: [1.0, 0.8182, 0.5769, 0.263], changed: [[0, 0, 0, 0], [0, 0, 0, 0]],
};
const PANORAMA = {
  ...ACTIVE, node: "12:4", width: 4096, height: 1024, grid: [64, 256], scales: [1.0, 4.0], mu: 2.0,
  time_shift: "custom", t: [1.0], kappa: [1.0], changed: [[0], [27]],
};

// SEGA with proportional attention: the attention line names the magnitudes the run's latents gave.
const SEGA_PA = {
  ...ACTIVE, method: "SEGA", kappa: [1.0, 1.0], t: [1.0, 0.5], changed: [[27, 27], [27, 27]],
  attention: ["SEGA magnitudes rows 1.000..1.244, cols 1.000..1.238", "proportional attention x1.155"],
  magnitudes: [[[1.117, 1.118], [1.117, 1.118]], [[1.0, 1.244], [1.0, 1.238]]],
};

describe("formatReadout", () => {
  it("shows SEGA's magnitudes and proportional attention under the method, and keeps them", () => {
    const { badge, lines } = formatReadout(SEGA_PA);
    assert.equal(badge, "DyPE 4x4 · SEGA · mu 1.15");
    const at = lines.findIndex((line) => line.startsWith("method SEGA"));
    assert.deepEqual(lines.slice(at + 1, at + 3), SEGA_PA.attention);
    assert.equal(formatReadout(ACTIVE).lines.some((line) => line.includes("magnitudes")), false);
    const node = { properties: {} };
    storeReadout(node, SEGA_PA);
    assert.deepEqual(restoreReadout(node).magnitudes, SEGA_PA.magnitudes);
  });

  it("formats an active readout", () => {
    const { badge, lines, title } = formatReadout(ACTIVE);
    assert.equal(badge, "DyPE 4x4 · Dy-YaRN · mu 1.15");
    assert.equal(title, ACTIVE.summary);
    assert.ok(lines.length >= 4 && lines.length <= 6);
    assert.equal(lines[0], "FLUX.1 · 4096x4096 px");
    assert.match(lines[1], /tokens 256x256 .*base 64x64: 16x/);
    assert.equal(lines[2], "scale width 4 · height 4");
    assert.match(lines[3], /Dy-YaRN · 6 steps, k\(t\) 1 → 0\.15/);
    assert.equal(lines[4], "mu 1.15 (time shift model)");
  });

  it("formats an inactive readout with mu null", () => {
    const { badge, lines } = formatReadout(INACTIVE);
    assert.equal(badge, "DyPE inactive (≤ base 64x64)");
    assert.ok(lines.some((line) => line.includes("model's own (no mu)")));
    assert.ok(lines.every((line) => !line.includes("null") && !line.includes("undefined")));
  });

  it("formats a panorama width x height everywhere", () => {
    const { badge, lines } = formatReadout(PANORAMA);
    assert.equal(badge, "DyPE 4x1 · Dy-YaRN · mu 2");
    assert.equal(lines[0], "FLUX.1 · 4096x1024 px");
    assert.ok(lines.includes("scale width 4 · height 1"));
    assert.ok(lines.includes("mu 2 (time shift custom)"));
    assert.match(lines[1], /^tokens 256x64 vs base 64x64: 4x$/);
  });

  it("shows a video's time axis against its trained length, and no time line for images", () => {
    const video = { ...WAN, active: true, frames: 41, time_scale: 1.9524, time_active: true };
    assert.ok(formatReadout(video).lines.includes("time 41 frames vs trained 21: x1.95 RIFLEx"));
    assert.equal(formatReadout(video).badge, "DyPE 1x1 · time x1.95 · Dy-YaRN · mu 1.61");
    const short = { ...WAN, frames: 21, time_scale: 1 };
    assert.ok(formatReadout(short).lines.includes("time 21 frames vs trained 21: untouched"));
    assert.equal(formatReadout(short).badge, "DyPE inactive (≤ base 80x45)");
    assert.ok(formatReadout({ ...ACTIVE, base_frames: null }).lines.every((line) => !line.startsWith("time ")));
  });

  it("calls a longer clip whose method changes no time pair inactive, not RIFLEx", () => {
    const { badge, lines } = formatReadout(WAN); // 22 frames: RIFLEx's intrinsic pair already spans the clip
    assert.equal(badge, "DyPE inactive (no frequency changes)");
    assert.ok(lines.includes("time 22 frames vs trained 21: untouched (x1.05: RIFLEx changes no pair)"));
  });

  it("says why time is untouched when time_axis or the method is off", () => {
    const long = { ...WAN, frames: 41, time_scale: 1.9524 };
    const axisOff = formatReadout({ ...long, time_method: "off" });
    assert.ok(axisOff.lines.includes("time 41 frames vs trained 21: untouched (time_axis off)"));
    const methodOff = formatReadout({ ...long, method: "off", time_method: "off" });
    assert.equal(methodOff.badge, "DyPE off (method off)");
    assert.ok(methodOff.lines.includes("time 41 frames vs trained 21: untouched (method off)"));
    assert.ok(methodOff.lines.every((line) => !line.includes("RIFLEx")));
  });

  it("never claims RIFLEx for method off in a readout stored before time_active", () => {
    const stored = { ...WAN, method: "off", frames: 41, time_scale: 1.9524 };
    delete stored.time_active;
    const { badge, lines } = formatReadout(stored);
    assert.equal(badge, "DyPE off (method off)");
    assert.ok(lines.every((line) => !line.includes("RIFLEx")));
    const active = { ...WAN, active: true, frames: 41, time_scale: 1.9524 };
    delete active.time_active;
    assert.ok(formatReadout(active).lines.includes("time 41 frames vs trained 21: x1.95 RIFLEx"));
  });

  it("shows the plan's own cause of a degenerate schedule", () => {
    const cause = "degenerate schedule: sigma is still 1 at the last step, so k(t) cannot relax (the custom time "
      + "shift, mu 20 (custom), is too high; use time_shift model)";
    const { lines } = formatReadout({ ...ACTIVE, degenerate: true, degenerate_cause: cause });
    assert.equal(lines.at(-1), cause);
    assert.ok(lines.every((line) => !line.includes("shift too high")));
    assert.ok(formatReadout(ACTIVE).lines.every((line) => !line.includes("degenerate")));
  });

  it("lists the model calls' sizes when they saw several", () => {
    assert.ok(formatReadout(ACTIVE).lines.every((line) => !line.startsWith("model calls")));
    const two = formatReadout({ ...ACTIVE, sizes: [[1, 256, 256], [1, 128, 64]] }).lines;
    assert.ok(two.includes("model calls at 2 sizes: 256x256, 64x128 tokens"));
    const many = formatReadout({ ...ACTIVE, sizes: [[1, 4, 4], [1, 3, 3], [1, 2, 2], [1, 1, 1], [1, 1, 2]] }).lines;
    assert.ok(many.includes("model calls at 5 sizes: 4x4, 3x3, 2x2, 2 more tokens"));
    const clip = formatReadout({ ...WAN, sizes: [[21, 45, 80], [5, 45, 80]] }).lines;
    assert.ok(clip.includes("model calls at 2 sizes: 80x45 tokens x 21 frames, 80x45 tokens x 5 frames"));
  });

  it("shows a readout stored by an earlier version", () => {
    const { badge, lines } = formatReadout(STORED_BEFORE);
    assert.equal(badge, "DyPE 2x2 · Dy-YaRN · mu 20");
    assert.equal(lines.at(-1), "degenerate schedule: k(t) cannot relax");
    assert.ok(lines.every((line) => !line.includes("undefined") && !line.includes("null")));
    assert.ok(lines.every((line) => !line.startsWith("model calls") && !line.startsWith("time ")));
  });

  it("leaves mu out of an active badge when mu is null", () => {
    const { badge, lines } = formatReadout({ ...ACTIVE, mu: null });
    assert.equal(badge, "DyPE 4x4 · Dy-YaRN");
    assert.ok(lines.includes("time shift: the model's own (no mu)"));
  });

  it("says off for method off and never throws on partial data", () => {
    assert.equal(formatReadout({ ...INACTIVE, method: "off" }).badge, "DyPE off (method off)");
    for (const detail of [undefined, null, {}, { active: true }, { scales: "x", kappa: 3 }]) {
      const { badge, lines } = formatReadout(detail);
      assert.equal(typeof badge, "string");
      assert.ok(lines.every((line) => typeof line === "string"));
    }
  });

  it("rounds numbers to 3 significant digits", () => {
    assert.equal(fmt(4), "4");
    assert.equal(fmt(4096), "4096");
    assert.equal(fmt(12.345), "12.3");
    assert.equal(fmt(1.1500001), "1.15");
    assert.equal(fmt(2.5), "2.5");
    assert.equal(fmt(null), "?");
    assert.equal(fmt(NaN), "?");
  });
});

/** A fake 2D context recording calls, points and the strokes of each path. */
function fakeContext() {
  const ctx = {
    calls: [], points: [], paths: [], current: null,
    strokeStyle: "", fillStyle: "", lineWidth: 1, font: "", textBaseline: "",
    beginPath() { this.calls.push("beginPath"); this.current = { points: 0 }; },
    moveTo(x, y) { this.points.push([x, y]); this.current.points += 1; },
    lineTo(x, y) { this.points.push([x, y]); this.current.points += 1; },
    stroke() { this.calls.push("stroke"); this.paths.push({ color: this.strokeStyle, ...this.current }); },
    fillRect(x, y, w, h) { this.calls.push("fillRect"); this.points.push([x, y], [x + w, y + h]); },
    fillText(text, x, y) { this.calls.push(`fillText ${text}`); this.points.push([x, y]); },
  };
  return ctx;
}

const seriesPaths = (ctx) => Object.fromEntries(
  Object.entries(CHART_COLORS).map(([name, color]) => [name, ctx.paths.filter((p) => p.color === color)]),
);

function assertInside(ctx, width, height) {
  for (const [x, y] of ctx.points) {
    assert.ok(Number.isFinite(x) && Number.isFinite(y), `finite point ${x},${y}`);
    assert.ok(x >= 0 && x <= width && y >= 0 && y <= height, `point ${x},${y} outside ${width}x${height}`);
  }
}

// The same run with a DyPE Guide on the model: its weight at every step.
const GUIDED = { ...ACTIVE, guide: [1.0, 0.9330, 0.75, 0.5, 0.25, 0.067] };

describe("the guide", () => {
  it("adds its weights to the readout's lines and keeps them when stored", () => {
    const { lines } = formatReadout(GUIDED);
    assert.ok(lines.includes("guide weight 1 → 0.067 over 6 steps"), lines.join("\n"));
    assert.ok(!formatReadout(ACTIVE).lines.some((line) => line.startsWith("guide")));
    const node = { id: 7, type: "DyPE", properties: {} };
    storeReadout(node, GUIDED);
    assert.deepEqual(restoreReadout(node).guide, GUIDED.guide);
  });

  it("draws its weights as a fourth series, only when there is a guide", () => {
    const ctx = fakeContext();
    drawChart(ctx, GUIDED, 260, 90);
    assertInside(ctx, 260, 90);
    const paths = seriesPaths(ctx);
    assert.equal(paths.guide.length, 1);
    assert.equal(paths.guide[0].points, GUIDED.guide.length);
    assert.ok(ctx.calls.includes("fillText guide"));
    const plain = fakeContext();
    drawChart(plain, ACTIVE, 260, 90);
    assert.equal(seriesPaths(plain).guide.length, 0);
  });
});

describe("drawChart", () => {
  it("draws one polyline per series within bounds", () => {
    const ctx = fakeContext();
    drawChart(ctx, ACTIVE, 260, 90);
    assertInside(ctx, 260, 90);
    const paths = seriesPaths(ctx);
    for (const name of ["kappa", "rows", "cols"]) {
      assert.equal(paths[name].length, 1, `one polyline for ${name}`);
      assert.equal(paths[name][0].points, ACTIVE.kappa.length, `one point per step for ${name}`);
    }
  });

  it("keeps k(t) above 1 inside the plot", () => {
    const ctx = fakeContext();
    drawChart(ctx, { ...ACTIVE, kappa: [2, 1.5, 0.5, 0, 0, 0] }, 200, 80);
    assertInside(ctx, 200, 80);
  });

  it("draws a single step as a flat visible line", () => {
    const ctx = fakeContext();
    drawChart(ctx, PANORAMA, 200, 80);
    assertInside(ctx, 200, 80);
    const paths = seriesPaths(ctx);
    for (const name of ["kappa", "rows", "cols"]) assert.equal(paths[name].length, 1);
    assert.equal(paths.kappa[0].points, 2);
  });

  it("handles empty and missing data without series", () => {
    for (const detail of [{ ...ACTIVE, t: [], kappa: [], changed: [[], []] }, {}, null]) {
      const ctx = fakeContext();
      drawChart(ctx, detail, 120, 60);
      assertInside(ctx, 120, 60);
      const paths = seriesPaths(ctx);
      assert.equal(paths.kappa.length + paths.rows.length + paths.cols.length, 0);
      assert.ok(ctx.calls.includes("fillText no steps"));
    }
  });

  it("survives a tiny canvas and pairs of 0", () => {
    const ctx = fakeContext();
    drawChart(ctx, { ...ACTIVE, pairs: 0 }, 4, 4);
    assertInside(ctx, 4, 4);
    drawChart(fakeContext(), { ...ACTIVE, pairs: 0 }, 100, 60);
  });
});

// Fake graphs: root nodes 3 (DyPE), 5 (KSampler), 12 (a subgraph holding DyPE 4).
const dype = (id) => ({ id, type: "DyPE", properties: {} });
function fakeGraph() {
  const inner = dype(4);
  const host = { id: 12, type: "subgraph-uuid", subgraph: { nodes: [{ id: 1, type: "KSampler" }, inner] } };
  return { graph: { nodes: [dype(3), { id: 5, type: "KSampler", properties: {} }, host] }, inner, host };
}

describe("findNode", () => {
  it("matches ids as strings", () => {
    assert.ok(nodeIdMatches({ id: 7 }, "7"));
    assert.ok(nodeIdMatches({ id: "7" }, 7));
    assert.ok(!nodeIdMatches({ id: 7 }, "17"));
    assert.ok(!nodeIdMatches(null, "7"));
    assert.ok(!nodeIdMatches({ id: 7 }, null));
  });

  it("finds root nodes", () => {
    const { graph } = fakeGraph();
    assert.equal(findNode(graph, "3"), graph.nodes[0]);
    assert.equal(findNode(graph, 5), graph.nodes[1]);
  });

  it("finds a node inside a subgraph by a:b", () => {
    const { graph, inner, host } = fakeGraph();
    assert.equal(findNode(graph, "12:4"), inner);
    assert.equal(findNode(graph, "12"), host);
  });

  it("finds nested subgraphs and litegraph's _nodes", () => {
    const deep = dype(9);
    const graph = { _nodes: [{ id: 1, subgraph: { nodes: [{ id: 2, subgraph: { nodes: [deep] } }] } }] };
    assert.equal(findNode(graph, "1:2:9"), deep);
  });

  it("returns null for missing nodes", () => {
    const { graph } = fakeGraph();
    for (const id of ["99", "12:99", "3:4", "99:4", "", null, undefined]) assert.equal(findNode(graph, id), null);
    assert.equal(findNode(null, "3"), null);
    assert.equal(findNode({}, "3"), null);
  });
});

describe("store and restore", () => {
  it("round-trips through node.properties and a saved workflow", () => {
    const node = { id: 7, type: "DyPE" };
    assert.equal(restoreReadout(node), null);
    storeReadout(node, { ...ACTIVE, extra: "dropped" });
    assert.deepEqual(restoreReadout(node), ACTIVE);
    // The workflow is JSON: a reloaded node gets the same properties back.
    const reloaded = { id: 7, type: "DyPE", properties: JSON.parse(JSON.stringify(node.properties)) };
    assert.deepEqual(restoreReadout(reloaded), ACTIVE);
  });

  it("keeps a copy, not the message itself", () => {
    const node = { properties: { other: 1 } };
    const detail = structuredClone(ACTIVE);
    storeReadout(node, detail);
    detail.kappa.push(5);
    assert.deepEqual(node.properties[PROPERTY].kappa, ACTIVE.kappa);
    assert.equal(node.properties.other, 1);
  });

  it("keeps the truth fields and restores a readout stored before them", () => {
    const node = { id: 3, type: "DyPE" };
    const kept = storeReadout(node, { ...WAN, degenerate_cause: "degenerate schedule: ...", unknown: 1 });
    assert.equal(kept.time_active, false);
    assert.equal(kept.degenerate_cause, "degenerate schedule: ...");
    assert.deepEqual(kept.sizes, [[22, 45, 80]]);
    assert.equal(kept.unknown, undefined);
    const old = { id: 7, type: "DyPE", properties: { [PROPERTY]: structuredClone(STORED_BEFORE) } };
    assert.deepEqual(restoreReadout(old), STORED_BEFORE);
    assert.equal(typeof formatReadout(restoreReadout(old)).badge, "string");
  });

  it("ignores stored values that are not readouts", () => {
    for (const value of [null, "text", 3, [1, 2]]) assert.equal(restoreReadout({ properties: { [PROPERTY]: value } }), null);
    assert.equal(restoreReadout(null), null);
    assert.equal(restoreReadout({}), null);
  });
});

describe("applyReadout", () => {
  it("stores the readout on the root node and renders it", () => {
    const { graph } = fakeGraph();
    const rendered = [];
    const node = applyReadout(graph, { ...ACTIVE, node: "3" }, (n, r) => rendered.push([n, r]));
    assert.equal(node, graph.nodes[0]);
    assert.equal(rendered.length, 1);
    assert.equal(rendered[0][0], node);
    assert.equal(rendered[0][1].node, "3");
    assert.deepEqual(restoreReadout(node), { ...ACTIVE, node: "3" });
  });

  it("updates a DyPE node inside a subgraph", () => {
    const { graph, inner } = fakeGraph();
    let calls = 0;
    assert.equal(applyReadout(graph, PANORAMA, () => calls++), inner);
    assert.equal(calls, 1);
    assert.deepEqual(restoreReadout(inner).scales, [1, 4]);
  });

  it("a later run replaces the earlier readout", () => {
    const { graph } = fakeGraph();
    applyReadout(graph, { ...ACTIVE, node: "3" }, () => {});
    applyReadout(graph, { ...INACTIVE, node: "3" }, () => {});
    assert.equal(restoreReadout(graph.nodes[0]).active, false);
  });

  it("does nothing for missing nodes, other node types and bad messages", () => {
    const { graph } = fakeGraph();
    let calls = 0;
    const render = () => calls++;
    for (const detail of [{ ...ACTIVE, node: "99" }, { ...ACTIVE, node: "5" }, { ...ACTIVE, node: "12" },
      { ...ACTIVE, node: null }, null, "text", 7]) {
      assert.equal(applyReadout(graph, detail, render), null);
    }
    assert.equal(applyReadout(null, ACTIVE, render), null);
    assert.equal(applyReadout({}, ACTIVE, render), null);
    assert.equal(calls, 0);
    assert.equal(graph.nodes[1].properties[PROPERTY], undefined);
  });

  it("accepts nodes whose comfyClass is DyPE and works without a render function", () => {
    const node = { id: 2, type: "DyPE (Dynamic Position Extrapolation)", comfyClass: "DyPE" };
    assert.ok(isDyPENode(node));
    assert.equal(applyReadout({ nodes: [node] }, { ...ACTIVE, node: "2" }), node);
    assert.equal(restoreReadout(node).method, "Dy-YaRN");
  });
});

describe("module", () => {
  it("has only exports and no side effects on import", async () => {
    const module = await import("../../web/dype_readout.js");
    assert.ok(Object.values(module).every((v) => typeof v === "function" || typeof v === "object" || typeof v === "string"));
    assert.equal(typeof globalThis.document, "undefined");
  });
});
