"""The DyPE node's readout in a real browser: the real ComfyUI server, its own frontend, headless Chromium.

    python tests/real_host/browser_readout.py [--comfyui PATH] [--python COMFYUI_PYTHON] [--out DIR]
                                              [--docs-shot PNG] [--chromium PATH] [--timeout 150]

Run it with a Python that has Playwright (``pip install playwright``; no ``playwright install``: it
drives the system Chromium, ``--chromium`` or ``CHROMIUM_PATH``, default ``chromium`` on PATH) and
torch + safetensors (for the tiny models). The server runs in ComfyUI's own Python (``--python`` or
``COMFYUI_PYTHON``, default this Python). It:

1. starts the server as ``server_run.py`` does (temporary home, tiny random FLUX.1 and VAE, this pack
   as the custom node ``comfyui-dype``; loopback only), with a user settings file that skips the
   first-run template browser;
2. opens the page in headless Chromium (a fresh profile; every host but 127.0.0.1 is unresolvable),
   waits for the app, and checks that ``GET /extensions`` lists ``dype.js`` and that the extension
   ``dype.readout`` is registered;
3. loads ``workflows/flux1_ab_dype_vs_off.json`` with ``app.loadGraphData`` and checks that both
   DyPE nodes show the placeholder ``DyPE: no run yet``;
4. queues the same workflow, converted and shrunk by ``server_run.py`` (so node ids match the
   loaded graph), through ``POST /prompt`` with the page's ``clientId``;
5. once it finished, checks every DyPE node in the page: the badge (``DyPE 2x2 · Dy-YaRN ...`` on
   node A, ``DyPE off ...`` on node B), the text lines, ``node.properties.dype_readout`` (with the
   node's own id), and that the chart was drawn; then centres the canvas on the last DyPE node not off and
   saves a screenshot of the page and one cropped to that node (``--out``; ``--docs-shot`` copies
   the cropped one, e.g. to docs/dype_node_readout.png);
6. queues the prompt again without a client id (new seeds, so the samplers really run) and checks
   that the page gets no readout and the stored readouts do not change;
7. loads the workflow as saved before the node had ``proportional_attention`` (one widget value fewer)
   and checks that every DyPE node has it off, and that a DyPE node added now gets the default (on).

Any console error or warning, page error or failed request from the pack's own scripts
(``/extensions/comfyui-dype/``) fails the run; the frontend's own messages are ignored. A readout
whose text does not fit its widget fails the check.

Prints one JSON summary on stdout (the last line); exit status 0 when every check passed. The
browser and the server are always stopped; every wait is bounded by ``--timeout`` (default 150 s).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import server_run  # noqa: E402  (next to this file; needs torch and safetensors)

PACK_SCRIPTS = "/extensions/comfyui-dype/"
EXTENSION = "dype.readout"
PLACEHOLDER = "DyPE: no run yet"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    # Nothing but the loopback server: every other host name fails to resolve.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
]
#: Frontend settings for the temporary user: no first-run template browser, no minimap or canvas info, and no
#: missing-models dialog over the node (the workflow names real model files the tiny server does not have).
SETTINGS = {"Comfy.TutorialCompleted": True, "Comfy.Minimap.Visible": False, "Comfy.Graph.CanvasInfo": False,
            "Comfy.Workflow.ShowMissingModelsWarning": False}
VIEWPORT = {"width": 1400, "height": 900}
DEVICE_SCALE = 2  # a sharp screenshot: the chart and the canvas follow devicePixelRatio
ZOOM = 1.0  # canvas scale for the screenshot (graph units -> CSS px)

# ------------------------------------------------------------------------------- page scripts

JS_READY = """() => {
  const app = window.app, api = window.comfyAPI?.api?.api ?? app?.api;
  const splash = document.getElementById("splash-loader");
  return Boolean(app && app.vueAppReady && app.canvas && app.rootGraph && api?.clientId
    && (app.extensions ?? []).length && (!splash || !splash.checkVisibility()));
}"""

JS_SETUP = """async () => {
  let api = window.comfyAPI?.api?.api ?? window.app?.api;
  if (!api) api = (await import("/scripts/api.js")).api;
  const seen = { readouts: [], finished: [], queue: [] };
  window.__dypeTest = seen;
  api.addEventListener("dype.readout", (event) => seen.readouts.push(event.detail));
  api.addEventListener("execution_success", (event) => seen.finished.push(event.detail?.prompt_id));
  // Queue sizes from the "status" messages, which the server sends to every tab.
  api.addEventListener("status", (event) => seen.queue.push(event.detail?.exec_info?.queue_remaining ?? null));
  const extensions = (window.app.extensions ?? []).map((e) => e.name);
  return { clientId: api.clientId, extensions };
}"""

JS_LOAD = """async (workflow) => {
  await window.app.loadGraphData(workflow, true, true, null, { skipAssetScans: true });
}"""

JS_DYPE_NODES = """() => {
  const graph = window.app.rootGraph ?? window.app.graph;
  const kappa = [0xf0, 0xb4, 0x29];  // the k(t) series colour (web/dype_readout.js)
  return graph.nodes.filter((n) => (n.comfyClass ?? n.type) === "DyPE").map((n) => {
    const widget = (n.widgets ?? []).find((w) => w.name === "dype_readout");
    const root = widget?.element;
    const [badge, lines, chart] = root ? root.children : [];
    let kappaPixels = null;
    if (chart && chart.width && chart.height) {
      // Pixels in the k(t) colour: the placeholder has only its legend, a run adds the curve.
      const data = chart.getContext("2d").getImageData(0, 0, chart.width, chart.height).data;
      kappaPixels = 0;
      for (let i = 0; i < data.length; i += 4)
        if (Math.abs(data[i] - kappa[0]) + Math.abs(data[i + 1] - kappa[1]) + Math.abs(data[i + 2] - kappa[2]) < 60)
          kappaPixels++;
    }
    const rect = root?.getBoundingClientRect();
    return {
      id: String(n.id), title: n.title, method: n.widgets?.find((w) => w.name === "method")?.value ?? null,
      widget: Boolean(widget), badge: badge?.textContent ?? null, lines: lines?.textContent ?? null,
      visible: Boolean(root && root.isConnected && rect.width > 0 && rect.height > 0 && root.checkVisibility()),
      property: n.properties?.dype_readout ?? null, kappaPixels,
      layout: root ? { root: [root.clientHeight, root.scrollHeight], lines: [lines.clientHeight, lines.scrollHeight],
                       chart: [chart.clientWidth, chart.clientHeight] } : null,
    };
  });
}"""

JS_PROPORTIONAL = """() => {
  const graph = window.app.rootGraph ?? window.app.graph;
  const value = (n) => n?.widgets?.find((w) => w.name === "proportional_attention")?.value ?? null;
  const LiteGraph = window.LiteGraph ?? window.comfyAPI?.litegraph?.LiteGraph;
  return { loaded: graph.nodes.filter((n) => (n.comfyClass ?? n.type) === "DyPE").map(value),
           fresh: LiteGraph ? value(LiteGraph.createNode("DyPE")) : "no LiteGraph" };
}"""

JS_FOCUS = """async ([id, scale]) => {
  const app = window.app, canvas = app.canvas, graph = app.rootGraph ?? app.graph;
  const node = graph.getNodeById ? graph.getNodeById(Number(id)) : graph.nodes.find((n) => String(n.id) === id);
  const title = window.LiteGraph?.NODE_TITLE_HEIGHT ?? 30;
  const [x, y, w, h] = [node.pos[0], node.pos[1] - title, node.size[0], node.size[1] + title];
  canvas.deselectAll?.();
  const element = canvas.canvas, box = element.getBoundingClientRect();
  canvas.ds.scale = scale;
  canvas.ds.offset[0] = box.width / 2 / scale - (x + w / 2);
  canvas.ds.offset[1] = box.height / 2 / scale - (y + h / 2);
  canvas.setDirty(true, true);
  canvas.draw?.(true, true);
  // Let the DOM widgets follow the new view.
  await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done, 200))));
  return { x: box.left + (x + canvas.ds.offset[0]) * scale, y: box.top + (y + canvas.ds.offset[1]) * scale,
           width: w * scale, height: h * scale };
}"""


# ------------------------------------------------------------------------------------ the run

def find_chromium(explicit: str | None = None) -> str | None:
    """The Chromium to drive: ``explicit``, ``CHROMIUM_PATH``, or chromium on PATH."""
    for candidate in (explicit, os.environ.get("CHROMIUM_PATH"), "chromium", "chromium-browser",
                      "/usr/bin/chromium"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


def write_settings(base: Path) -> None:
    """The temporary user's frontend settings (``<home>/user/default/comfy.settings.json``)."""
    folder = base / "user" / "default"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "comfy.settings.json").write_text(json.dumps(SETTINGS))


def new_seeds(prompt: dict) -> dict:
    """The prompt with every KSampler's seed changed, so that the server cannot answer from its cache."""
    prompt = copy.deepcopy(prompt)
    for node in prompt.values():
        if node["class_type"] == "KSampler":
            node["inputs"]["seed"] = int(node["inputs"]["seed"]) + 1
    return prompt


def run(options: argparse.Namespace) -> dict:
    summary: dict = {"ok": False, "errors": [], "warnings": [], "workflow": Path(options.workflow).name}
    errors = summary["errors"]
    started = time.monotonic()
    deadline = server_run.Deadline(options.timeout)
    comfyui = Path(options.comfyui).resolve()
    chromium = find_chromium(options.chromium)
    if chromium is None:
        errors.append("no Chromium found (--chromium, CHROMIUM_PATH or chromium on PATH)")
        return summary
    summary["chromium"] = chromium
    with tempfile.TemporaryDirectory(prefix="dype-browser-") as tmp:
        root = Path(tmp)
        base, yaml = server_run.make_home(root)
        write_settings(base)
        port = server_run.free_port()
        log_path = root / "server.log"
        summary["port"] = port
        process = server_run.start_server(comfyui, options.python, port, base, yaml, log_path)
        url = f"http://127.0.0.1:{port}"
        try:
            ready = server_run.wait_ready(url, process, deadline)
            summary["startup_s"] = round(time.monotonic() - started, 1)
            if not ready:
                errors.append("the server did not come up" + (" (it exited)" if process.poll() is not None else ""))
                return summary
            browse(url, root, chromium, options, deadline, summary)
        finally:
            server_run.stop(process)
            summary["server_exit"] = process.returncode
            log_text = log_path.read_text(errors="replace")
            server_run.check_log(log_text, summary)
            # Every DyPE node samples in each of the two runs; the headless one must have sampled too.
            nodes = len(summary.get("dype_nodes") or ())
            if summary.get("headless", {}).get("status") == "success" and len(summary["dype_log_lines"]) < 2 * nodes:
                errors.append(f"expected {2 * nodes} DyPE plan lines (2 runs x {nodes} nodes), "
                              f"got {len(summary['dype_log_lines'])}")
            if errors:
                summary["log_tail"] = log_text[-3000:]
    summary["total_s"] = round(time.monotonic() - started, 1)
    summary["ok"] = not errors
    return summary


def browse(url: str, root: Path, chromium: str, options: argparse.Namespace, deadline: server_run.Deadline,
           summary: dict) -> None:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    errors = summary["errors"]
    workflow = json.loads(Path(options.workflow).read_text())
    object_info, missing = server_run.fetch_object_info(url, workflow)
    if missing:
        errors.append(f"the server has no node {missing}")
        return
    vae = server_run.tiny_vae_supported(Path(options.comfyui))
    prompt = server_run.shrink_for_test(server_run.to_api(workflow, object_info), size=options.size,
                                        base=options.base, steps=options.steps, vae=vae)
    status, listed = server_run.http(f"{url}/extensions")
    summary["extensions_listed"] = sorted(p for p in listed or [] if PACK_SCRIPTS in p) if status == 200 else None
    if f"{PACK_SCRIPTS}dype.js" not in (listed or []):
        errors.append(f"GET /extensions does not list {PACK_SCRIPTS}dype.js: {status}")

    pack_problems: list[str] = []
    external: list[str] = []

    def on_console(message) -> None:
        where = (message.location or {}).get("url", "")
        if message.type in ("error", "warning") and PACK_SCRIPTS in where:
            pack_problems.append(f"console {message.type} from {where}: {message.text[:500]}")

    def on_page_error(error) -> None:
        stack = getattr(error, "stack", None) or str(error)
        if PACK_SCRIPTS in stack:
            pack_problems.append(f"page error: {stack[:800]}")

    def on_response(response) -> None:
        if PACK_SCRIPTS in response.url and response.status >= 400:
            pack_problems.append(f"GET {response.url}: {response.status}")

    def on_request(request) -> None:
        if not request.url.startswith(("http://127.0.0.1:", "data:", "blob:", "about:", "ws://127.0.0.1:")):
            external.append(request.url[:200])

    def on_request_failed(request) -> None:
        if PACK_SCRIPTS in request.url:
            pack_problems.append(f"request failed: {request.url} ({request.failure})")

    def ms() -> float:
        return max(1000.0, deadline.left() * 1000)

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(root / "chromium-profile"), executable_path=chromium, headless=True, args=CHROMIUM_ARGS,
            viewport=VIEWPORT, device_scale_factor=DEVICE_SCALE, timeout=ms())
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.on("console", on_console)
            page.on("pageerror", on_page_error)
            page.on("response", on_response)
            page.on("request", on_request)
            page.on("requestfailed", on_request_failed)
            opened = time.monotonic()
            page.goto(url, timeout=ms())
            page.wait_for_function(JS_READY, timeout=ms(), polling=200)
            setup = page.evaluate(JS_SETUP)
            summary["page_ready_s"] = round(time.monotonic() - opened, 1)
            client_id = summary["client_id"] = setup["clientId"]
            summary["extension_registered"] = EXTENSION in setup["extensions"]
            if not summary["extension_registered"]:
                errors.append(f"the extension {EXTENSION} is not registered: {setup['extensions']}")
                return
            check_session(page, url, prompt, client_id, options, deadline, ms, summary)
        except PlaywrightError as error:
            errors.append(f"browser: {str(error)[:1500]}")
        finally:
            context.close()
    summary["pack_console_problems"] = pack_problems
    summary["external_requests"] = sorted(set(external))[:20]  # made unresolvable by CHROMIUM_ARGS
    errors.extend(pack_problems)


def check_session(page, url: str, prompt: dict, client_id: str, options: argparse.Namespace,
                  deadline: server_run.Deadline, ms, summary: dict) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    errors = summary["errors"]
    workflow = json.loads(Path(options.workflow).read_text())
    dype_ids = sorted(i for i, node in prompt.items() if node["class_type"] == "DyPE")
    methods = {i: prompt[i]["inputs"]["method"] for i in dype_ids}
    summary["dype_nodes"] = methods
    # DyPE nodes whose model a DyPE Guide patches: their readout shows the guide's weights.
    guided = {node["inputs"]["model"][0] for node in prompt.values() if node["class_type"] == "DyPEGuide"}

    # The shipped workflow in the page: both DyPE nodes show the placeholder.
    page.evaluate(JS_LOAD, workflow)
    page.wait_for_function(f"() => ({JS_DYPE_NODES})().length === {len(dype_ids)}", timeout=ms(), polling=200)
    before = {n["id"]: n for n in page.evaluate(JS_DYPE_NODES)}
    summary["placeholder"] = {i: n["badge"] for i, n in before.items()}
    if sorted(before) != dype_ids:
        errors.append(f"the page's DyPE nodes {sorted(before)} are not the prompt's {dype_ids}")
        return
    for node_id, node in before.items():
        if not node["widget"] or node["badge"] != PLACEHOLDER or node["property"] is not None:
            errors.append(f"DyPE node {node_id} before the run: widget {node['widget']}, badge {node['badge']!r}, "
                          f"stored readout {node['property'] is not None}")

    # Queue it for this tab and wait until the server and the page saw it finish.
    status, queued = server_run.http(f"{url}/prompt", {"prompt": prompt, "client_id": client_id})
    if status != 200:
        errors.append(f"POST /prompt: {status} {json.dumps(queued)[:2000]}")
        return
    prompt_id = queued["prompt_id"]
    started = time.monotonic()
    entry = server_run.wait_finished(url, prompt_id, deadline)
    summary["run_s"] = round(time.monotonic() - started, 1)
    summary["status"] = (entry or {}).get("status", {}).get("status_str")
    if summary["status"] != "success":
        errors.append(f"the prompt did not succeed: {json.dumps((entry or {}).get('status'))[:2000]}")
        return
    page.wait_for_function(
        f"() => window.__dypeTest.finished.includes({json.dumps(prompt_id)}) "
        f"&& window.__dypeTest.readouts.length >= {len(dype_ids)}", timeout=ms(), polling=100)
    page.wait_for_timeout(300)  # one more frame for the widgets
    after = {n["id"]: n for n in page.evaluate(JS_DYPE_NODES)}
    events = page.evaluate("() => window.__dypeTest.readouts")
    summary["readout_events"] = len(events)
    if sorted(str(e.get("node")) for e in events) != dype_ids:
        errors.append(f"readout events for nodes {[e.get('node') for e in events]}, expected one each for {dype_ids}")
    summary["readouts"] = {}
    for node_id in dype_ids:
        node = after[node_id]
        summary["readouts"][node_id] = {"badge": node["badge"], "lines": node["lines"], "visible": node["visible"],
                                        "kappa_pixels": [before[node_id]["kappaPixels"], node["kappaPixels"]],
                                        "layout": node["layout"]}
        check_readout(node, before[node_id], methods[node_id], options, summary, guided=node_id in guided)

    # A screenshot centred on the guided DyPE node if there is one, else the last DyPE node that is not off (the
    # A/B's DyPE node; SEGA + PA in the A/B/C).
    number = lambda node_id: [int(part) for part in node_id.split(":")]  # noqa: E731  ("7:4" in a subgraph)
    active = min(guided, key=number) if guided else \
        max((i for i in dype_ids if methods[i] != "off"), key=number, default=dype_ids[0])
    clip = page.evaluate(JS_FOCUS, [active, ZOOM])
    side, top = 12, 25  # room for the node's source badge above its title
    clip = {"x": max(0.0, clip["x"] - side), "y": max(0.0, clip["y"] - top),
            "width": min(clip["width"] + 2 * side, VIEWPORT["width"]),
            "height": min(clip["height"] + top + side, VIEWPORT["height"])}
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    page_shot, node_shot = out / "readout_page.png", out / "dype_node_readout.png"
    page.screenshot(path=str(page_shot), timeout=ms())
    page.screenshot(path=str(node_shot), clip=clip, timeout=ms())
    summary["screenshots"] = {"page": str(page_shot), "node": str(node_shot), "node_clip": clip,
                              "node_bytes": node_shot.stat().st_size}
    if options.docs_shot:
        Path(options.docs_shot).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(node_shot, options.docs_shot)
        summary["screenshots"]["docs"] = str(options.docs_shot)

    # Headless: the same prompt without a client id (new seeds, so it samples again) sends the page nothing.
    stored = {i: n["property"] for i, n in after.items()}
    page.wait_for_function("() => window.__dypeTest.queue.at(-1) === 0", timeout=ms(), polling=100)
    statuses = page.evaluate("() => window.__dypeTest.queue.length")
    status, queued = server_run.http(f"{url}/prompt", {"prompt": new_seeds(prompt)})
    headless = summary["headless"] = {"post": status}
    if status != 200:
        errors.append(f"POST /prompt without client_id: {status} {json.dumps(queued)[:2000]}")
        return
    headless_id = queued["prompt_id"]
    started = time.monotonic()
    entry = server_run.wait_finished(url, headless_id, deadline)
    headless["run_s"] = round(time.monotonic() - started, 1)
    headless["status"] = (entry or {}).get("status", {}).get("status_str")
    if headless["status"] != "success":
        errors.append(f"the headless prompt did not succeed: {json.dumps((entry or {}).get('status'))[:2000]}")
        return
    # Every tab gets the queue's size; once the page has seen it grow and fall back to 0 after the post,
    # any readout sent during that prompt would have arrived before (the server's messages are ordered).
    try:
        page.wait_for_function(
            f"() => {{ const q = window.__dypeTest.queue.slice({statuses}); "
            "const i = q.findIndex((n) => n > 0); return i >= 0 && q.slice(i).includes(0); }",
            timeout=min(15000.0, ms()), polling=100)
        headless["page_saw_queue_drain"] = True
    except PlaywrightTimeout:  # then give the socket a moment
        headless["page_saw_queue_drain"] = False
        page.wait_for_timeout(2000)
    final = {n["id"]: n for n in page.evaluate(JS_DYPE_NODES)}
    headless["readout_events_total"] = page.evaluate("() => window.__dypeTest.readouts.length")
    headless["queue_sizes_seen"] = page.evaluate(f"() => window.__dypeTest.queue.slice({statuses})")
    headless["stored_unchanged"] = all(final[i]["property"] == stored[i] for i in dype_ids)
    headless["badges_unchanged"] = all(final[i]["badge"] == after[i]["badge"] for i in dype_ids)
    if headless["readout_events_total"] != len(events):
        errors.append(f"the page got {headless['readout_events_total'] - len(events)} readout(s) from a prompt "
                      "queued without a client id")
    if not (headless["stored_unchanged"] and headless["badges_unchanged"]):
        errors.append("a prompt without a client id changed the readout shown in the page")

    # The same workflow as saved before the node had proportional_attention (one widget value fewer): every
    # DyPE node loads with it off, so it samples as it did then; a node added now gets the widget's default.
    legacy = copy.deepcopy(workflow)
    for node in legacy["nodes"]:
        if node["type"] == "DyPE":
            node["widgets_values"] = node["widgets_values"][:10]
    page.evaluate(JS_LOAD, legacy)
    values = page.evaluate(JS_PROPORTIONAL)
    summary["legacy_proportional_attention"] = values
    if values["loaded"] != [False] * len(dype_ids):
        errors.append(f"a workflow saved without proportional_attention loaded it as {values['loaded']}, not off")
    if values["fresh"] is not True:
        errors.append(f"a new DyPE node's proportional_attention is {values['fresh']!r}, not its default (on)")


def check_readout(node: dict, before: dict, method: str, options: argparse.Namespace, summary: dict,
                  guided: bool = False) -> None:
    """One DyPE node after the run: badge, lines, stored readout, chart, and nothing clipped; with a DyPE Guide on
    its model (``guided``), the guide's line and weights, and none without."""
    errors, node_id = summary["errors"], node["id"]
    badge, lines, stored = node["badge"] or "", node["lines"] or "", node["property"]
    scale = options.size // options.base
    if method == "off":
        expected = ("DyPE off",)
    else:
        expected = (f"DyPE {scale}x{scale}", method)
    if not all(part in badge for part in expected):
        errors.append(f"DyPE node {node_id} ({method}): badge {badge!r}, expected it to contain {expected}")
    if not node["visible"]:
        errors.append(f"DyPE node {node_id}: the readout widget is not visible")
    if f"{options.size}x{options.size} px" not in lines or f"method {method}" not in lines:
        errors.append(f"DyPE node {node_id}: readout lines {lines!r}")
    if not isinstance(stored, dict) or stored.get("node") != node_id:
        errors.append(f"DyPE node {node_id}: node.properties.dype_readout is {json.dumps(stored)[:300]}")
    elif stored.get("method") != method or stored.get("active") != (method != "off") or \
            stored.get("width") != options.size or len(stored.get("kappa") or []) != options.steps:
        errors.append(f"DyPE node {node_id}: stored readout {json.dumps(stored)[:500]}")
    guide_line = "guide weight 1 → " in lines and f"over {options.steps} steps" in lines
    weights = (stored or {}).get("guide") if isinstance(stored, dict) else None
    if guided and not (guide_line and isinstance(weights, list) and len(weights) == options.steps and weights[0] == 1):
        errors.append(f"DyPE node {node_id} (guided): no guide line or weights ({lines!r}, {weights!r})")
    if not guided and (guide_line or weights):
        errors.append(f"DyPE node {node_id} (unguided) shows guide weights: {weights!r}")
    legend = before["kappaPixels"] or 0
    if not (node["kappaPixels"] or 0) > legend + 100:
        errors.append(f"DyPE node {node_id}: no k(t) curve in the chart ({node['kappaPixels']} pixels in its "
                      f"colour, {legend} before the run)")
    layout = node["layout"] or {}
    for part in ("root", "lines"):
        shown, needed = layout.get(part, (0, 0))
        if needed > shown + 1:
            what = "widget" if part == "root" else "text lines"
            errors.append(f"DyPE node {node_id}: the readout's {what} are cut off "
                          f"({needed} px of content shown in {shown} px)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comfyui", default=os.environ.get("COMFYUI_PATH"), help="ComfyUI's folder")
    parser.add_argument("--python", default=os.environ.get("COMFYUI_PYTHON") or sys.executable,
                        help="ComfyUI's Python, for the server")
    parser.add_argument("--workflow", default=str(server_run.DEFAULT_WORKFLOW), help="a UI-format A/B workflow")
    parser.add_argument("--out", default=os.environ.get("OUT_DIR") or "dype-browser-out",
                        help="folder for the screenshots (default: $OUT_DIR or ./dype-browser-out)")
    parser.add_argument("--docs-shot", default=None, help="also copy the node screenshot here")
    parser.add_argument("--chromium", default=None, help="the Chromium binary")
    parser.add_argument("--size", type=int, default=512, help="image side in px (a multiple of 16)")
    parser.add_argument("--base", type=int, default=256, help="DyPE base_resolution, below --size")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=150.0,
                        help="seconds for everything but stopping the server (at most 10 more)")
    options = parser.parse_args()
    if not options.comfyui:
        parser.error("--comfyui or COMFYUI_PATH is required")
    return server_run.report(run, options)


if __name__ == "__main__":
    sys.exit(main())
