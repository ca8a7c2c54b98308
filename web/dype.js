// DyPE readout on the DyPE node: the ComfyUI glue. The logic lives in ./dype_readout.js.
//
// Once per sampling run, when it has ended, the server sends "dype.readout" to the tab that queued the
// prompt, made from what the run's model calls received; the readout is kept in node.properties (saved
// with the workflow) and shown in a display-only DOM widget: a badge, a few lines (a long one is cut
// with an ellipsis; the node's tooltip holds the whole summary) and a small chart of k(t) and changed pairs.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";
import { applyReadout, drawChart, formatReadout, isDyPENode, restoreReadout } from "./dype_readout.js";

const EVENT = "dype.readout";
const WIDGET = "dype_readout";
const CHART_HEIGHT = 90; // CSS px
const LINE_HEIGHT = 15; // CSS px of one text line (11px/1.35 monospace)
const FRAME_HEIGHT = 140; // CSS px of the widget besides its text lines: badge, chart, padding, gaps
const VIEW = Symbol("dype.view"); // the widget's elements, on the node object

function el(tag, style) {
  const element = document.createElement(tag);
  Object.assign(element.style, style);
  return element;
}

/** Add the display-only widget to a DyPE node once; returns its elements. */
function ensureView(node) {
  if (node[VIEW]) return node[VIEW];
  const root = el("div", {
    display: "flex", flexDirection: "column", gap: "3px", boxSizing: "border-box", padding: "4px 6px",
    font: "11px/1.35 monospace", color: "var(--descrip-text, #aaa)", overflow: "hidden",
    background: "var(--comfy-input-bg, #222)", borderRadius: "6px",
  });
  const badge = el("div", { fontWeight: "bold", color: "var(--input-text, #ddd)", whiteSpace: "nowrap" });
  const lines = el("div", { whiteSpace: "pre", overflow: "hidden", textOverflow: "ellipsis" });
  const canvas = el("canvas", { width: "100%", height: `${CHART_HEIGHT}px`, display: "block" });
  root.append(badge, lines, canvas);
  const view = { root, badge, lines, canvas, readout: null };
  node[VIEW] = view;

  // Tall enough for every line of the readout shown (at least 5: model, tokens, scale, method, mu).
  const height = () => FRAME_HEIGHT + LINE_HEIGHT * Math.max(5, lines.textContent.split("\n").length);
  const widget = node.addDOMWidget(WIDGET, "dype-readout", root, {
    serialize: false, // neither in the prompt nor in widgets_values
    hideOnZoom: false,
    getMinHeight: height,
    getMaxHeight: () => height() + 45,
  });
  widget.serialize = false;
  // Redraw at the chart's real size whenever the node is resized.
  if (typeof ResizeObserver === "function") new ResizeObserver(() => drawInto(view)).observe(canvas);
  return view;
}

/** Draw the chart at the canvas's CSS size, sharp on high-DPI screens. */
function drawInto(view) {
  const { canvas, readout } = view;
  const width = Math.max(40, canvas.clientWidth || 260);
  const dpr = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * dpr);
  canvas.height = Math.round(CHART_HEIGHT * dpr);
  const ctx = canvas.getContext("2d");
  if (!ctx) return;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  drawChart(ctx, readout ?? {}, width, CHART_HEIGHT);
}

/** Show `readout` (or a placeholder when null) on a DyPE node. */
function show(node, readout) {
  const view = ensureView(node);
  view.readout = readout;
  if (readout) {
    const text = formatReadout(readout);
    view.badge.textContent = text.badge;
    view.lines.textContent = text.lines.join("\n");
    view.root.title = text.title;
  } else {
    view.badge.textContent = "DyPE: no run yet";
    view.lines.textContent = "Queue the prompt to see DyPE's plan here.";
    view.root.title = "";
  }
  drawInto(view);
  // Grow the node when the readout has more lines than it has room for (SEGA, a video, several sizes).
  const needed = node.computeSize?.();
  if (needed && node.size && node.size[1] < needed[1]) node.setSize?.([node.size[0], needed[1]]);
  node.setDirtyCanvas?.(true, true);
}

/** Show what is kept on the node; never throws (a broken readout must not break loading). */
function showStored(node) {
  try {
    show(node, restoreReadout(node));
  } catch (error) {
    console.warn("DyPE: cannot show the stored readout", error);
  }
}

/**
 * A workflow saved before the node had `proportional_attention` holds fewer widget values; the page would give
 * the new widget its default. Keep such a node sampling as it did when saved: proportional attention off.
 */
function keepSavedBehaviour(node, saved) {
  const widget = node.widgets?.find((w) => w.name === "proportional_attention");
  if (widget && Array.isArray(saved) && saved.length <= node.widgets.indexOf(widget)) widget.value = false;
}

const extension = {
  name: "dype.readout",

  setup() {
    api.addEventListener(EVENT, (event) => {
      try {
        applyReadout(app.rootGraph ?? app.graph, event.detail, show);
      } catch (error) {
        console.warn("DyPE: cannot show the readout", error);
      }
    });
  },

  nodeCreated(node) {
    if (!isDyPENode(node)) return;
    showStored(node);
    // Restore after load, paste and undo, which configure the node after it is created.
    const onConfigure = node.onConfigure;
    node.onConfigure = function (...args) {
      const result = onConfigure?.apply(this, args);
      keepSavedBehaviour(this, args[0]?.widgets_values);
      showStored(this);
      return result;
    };
  },

  loadedGraphNode(node) {
    if (isDyPENode(node)) showStored(node);
  },
};

app.registerExtension(extension);
