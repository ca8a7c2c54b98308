"""Run the shipped A/B workflow on a real ComfyUI server, on the CPU, with tiny random models.

    $COMFYUI_PYTHON tests/real_host/server_run.py [--comfyui PATH] [--workflow FILE] [--size 512] [--base 256]

Run it with ComfyUI's own Python (torch, safetensors and Pillow come with ComfyUI). It:

1. builds a temporary ComfyUI home: a tiny random-weight FLUX.1 checkpoint (real FLUX.1 key
   names and layout, hidden size 128, one double and one single block, rotary axes 16/56/56, so
   ``UNETLoader`` detects it as FLUX.1 with one head), a tiny random FLUX-style VAE (decoder
   only), this pack as the custom node ``comfyui-dype`` (a symlink) and a test-only custom node
   ``DyPETestConditioning`` that makes a random CONDITIONING, so no text encoder is needed; the
   model folders and custom nodes are handed to ComfyUI through an extra-model-paths YAML;
2. starts ``main.py --cpu`` on a free loopback port with that home (``--base-directory``) and an
   in-memory database, so nothing is written into ComfyUI's own tree;
3. converts the UI-format workflow to the API format with the server's ``/object_info`` (widget
   values to input names), swaps in the tiny models and the test conditioning, shrinks the image to
   ``--size`` with DyPE's ``base_resolution`` at ``--base`` (so DyPE is active), cuts the steps,
   and adds a ``SaveLatent`` after each sampler;
4. queues it (``POST /prompt``), polls ``/history/<id>``, and checks that it succeeded, that the
   DyPE and the "off" branch both saved an image and a latent, that the two differ, and that the
   server log has DyPE's plan line (logger ``DyPE``, message ``DyPE: ...``).

A ComfyUI that cannot size a VAE decoder from its weights (v0.14) gets no VAE: the graph then
ends at the two latents, which are compared the same way.

Prints one JSON summary on stdout (the last line); exit status 0 when every check passed. The
server is always stopped (and gets SIGTERM should this script die), and every wait is bounded:
``--timeout`` (default 100 s) for the start and the run, at most 10 s more to stop it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

PACK = Path(__file__).resolve().parents[2]
DEFAULT_WORKFLOW = PACK / "workflows" / "flux1_ab_dype_vs_off.json"

#: The tiny FLUX.1: hidden 128 over one head of 16 + 56 + 56 rotary dims, real FLUX.1 otherwise.
HIDDEN, MLP, HEAD_DIM = 128, 4 * 128, 128
CONTEXT_DIM, VEC_DIM, LATENT_CHANNELS, PATCH = 64, 32, 16, 2
UNET_NAME = "dype-test-flux1-tiny.safetensors"
VAE_NAME = "dype-test-flux-vae-tiny.safetensors"
#: The tiny VAE decoder: base channels (a multiple of 32 for its group norms) and levels.
VAE_CH, VAE_MULT, VAE_RES_BLOCKS = 32, (1, 2, 4, 4), 2

WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
UPLOAD_FLAGS = ("image_upload", "video_upload", "audio_upload", "animated_image_upload")
NOTES = {"Note", "MarkdownNote"}

TEST_NODES = textwrap.dedent(
    f'''
    """Test-only nodes for tests/real_host/server_run.py (written into a temporary custom_nodes)."""

    import torch


    class DyPETestConditioning:
        """A random FLUX.1-shaped CONDITIONING: context [1, tokens, {CONTEXT_DIM}], pooled [1, {VEC_DIM}]."""

        @classmethod
        def INPUT_TYPES(cls):
            return {{"required": {{"salt": ("INT", {{"default": 0, "min": 0, "max": 2**31 - 1}}),
                                  "tokens": ("INT", {{"default": 8, "min": 1, "max": 512}})}}}}

        RETURN_TYPES = ("CONDITIONING",)
        FUNCTION = "make"
        CATEGORY = "testing"

        def make(self, salt, tokens):
            generator = torch.Generator().manual_seed(salt)
            context = torch.randn(1, tokens, {CONTEXT_DIM}, generator=generator)
            pooled = torch.randn(1, {VEC_DIM}, generator=generator)
            return ([[context, {{"pooled_output": pooled}}]],)


    NODE_CLASS_MAPPINGS = {{"DyPETestConditioning": DyPETestConditioning}}
    NODE_DISPLAY_NAME_MAPPINGS = {{"DyPETestConditioning": "DyPE test conditioning (random)"}}
    '''
)


# ------------------------------------------------------------------------------- tiny models

def flux1_shapes() -> dict[str, tuple[int, ...]]:
    """Key -> shape of a FLUX.1 [dev] checkpoint (BFL names) with the tiny sizes above."""
    h, m, d = HIDDEN, MLP, HEAD_DIM
    shapes: dict[str, tuple[int, ...]] = {}

    def linear(name: str, out: int, inp: int) -> None:
        shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (out, inp), (out,)

    linear("img_in", h, LATENT_CHANNELS * PATCH * PATCH)
    linear("txt_in", h, CONTEXT_DIM)
    for embedder, inp in (("time_in", 256), ("vector_in", VEC_DIM), ("guidance_in", 256)):
        linear(f"{embedder}.in_layer", h, inp)
        linear(f"{embedder}.out_layer", h, h)
    for stream in ("img", "txt"):
        block = f"double_blocks.0.{stream}"
        linear(f"{block}_mod.lin", 6 * h, h)
        linear(f"{block}_attn.qkv", 3 * h, h)
        linear(f"{block}_attn.proj", h, h)
        shapes[f"{block}_attn.norm.query_norm.scale"] = (d,)
        shapes[f"{block}_attn.norm.key_norm.scale"] = (d,)
        linear(f"{block}_mlp.0", m, h)
        linear(f"{block}_mlp.2", h, m)
    linear("single_blocks.0.linear1", 3 * h + m, h)
    linear("single_blocks.0.linear2", h, h + m)
    linear("single_blocks.0.modulation.lin", 3 * h, h)
    shapes["single_blocks.0.norm.query_norm.scale"] = (d,)
    shapes["single_blocks.0.norm.key_norm.scale"] = (d,)
    linear("final_layer.linear", PATCH * PATCH * LATENT_CHANNELS, h)
    linear("final_layer.adaLN_modulation.1", 2 * h, h)
    return shapes


def vae_decoder_shapes() -> dict[str, tuple[int, ...]]:
    """Key -> shape of a FLUX-style (16-channel, no post-quant conv) VAE decoder, tiny channels."""
    shapes: dict[str, tuple[int, ...]] = {}

    def conv(name: str, out: int, inp: int, k: int = 3) -> None:
        shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (out, inp, k, k), (out,)

    def norm(name: str, channels: int) -> None:
        shapes[f"{name}.weight"], shapes[f"{name}.bias"] = (channels,), (channels,)

    def resnet(name: str, inp: int, out: int) -> None:
        norm(f"{name}.norm1", inp)
        conv(f"{name}.conv1", out, inp)
        norm(f"{name}.norm2", out)
        conv(f"{name}.conv2", out, out)
        if inp != out:
            conv(f"{name}.nin_shortcut", out, inp, 1)

    channels = VAE_CH * VAE_MULT[-1]
    conv("decoder.conv_in", channels, LATENT_CHANNELS)
    resnet("decoder.mid.block_1", channels, channels)
    norm("decoder.mid.attn_1.norm", channels)
    for part in ("q", "k", "v", "proj_out"):
        conv(f"decoder.mid.attn_1.{part}", channels, channels, 1)
    resnet("decoder.mid.block_2", channels, channels)
    for level in reversed(range(len(VAE_MULT))):
        out = VAE_CH * VAE_MULT[level]
        for index in range(VAE_RES_BLOCKS + 1):
            resnet(f"decoder.up.{level}.block.{index}", channels, out)
            channels = out
        if level:
            conv(f"decoder.up.{level}.upsample.conv", channels, channels)
    norm("decoder.norm_out", channels)
    conv("decoder.conv_out", 3, channels)
    return shapes


def random_state_dict(shapes: dict[str, tuple[int, ...]], seed: int) -> dict:
    """Seeded random weights with unit-variance outputs (std 1/sqrt(fan-in)); norms 1, biases 0.

    Weights this large make attention, and so the rotary positions DyPE changes, matter for the
    output; with much smaller ones the blocks' gates hide most of the difference.
    """
    generator = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in shapes.items():
        if key.endswith(".scale") or re.search(r"norm[^.]*\.weight$", key):
            state[key] = torch.ones(shape)
        elif key.endswith(".bias"):
            state[key] = torch.zeros(shape)
        else:
            fan_in = int(torch.tensor(shape[1:]).prod())
            state[key] = torch.randn(shape, generator=generator) * fan_in ** -0.5
    return state


# ---------------------------------------------------------------------------- the UI -> API side

def widget_slots(info: dict) -> list[tuple[str, str]]:
    """``(input name, kind)`` per ``widgets_values`` entry of a node with ``/object_info`` ``info``."""
    sections = info["input"]
    order = info.get("input_order") or {key: list(value) for key, value in sections.items()}
    slots = []
    for section in ("required", "optional"):
        for name in order.get(section, []):
            spec = sections[section][name]
            kind, options = spec[0], (spec[1] if len(spec) > 1 else {}) or {}
            kind = "COMBO" if isinstance(kind, list) else kind
            if kind not in WIDGET_TYPES or options.get("forceInput"):
                continue
            slots.append((name, kind))
            control = options.get("control_after_generate")
            if control is None:
                control = kind == "INT" and name in ("seed", "noise_seed")
            if control:
                slots.append((name, "control"))
            if any(options.get(flag) for flag in UPLOAD_FLAGS):
                slots.append((name, "upload"))
    return slots


def to_api(workflow: dict, object_info: dict) -> dict:
    """The API-format prompt of a UI-format (0.4) workflow without subgraphs."""
    links = {link[0]: link for link in workflow["links"]}
    prompt = {}
    for node in workflow["nodes"]:
        if node["type"] in NOTES or node.get("mode", 0) != 0:
            continue
        info = object_info[node["type"]]
        slots = widget_slots(info)
        values = node.get("widgets_values") or []
        if len(values) != len(slots):
            raise ValueError(f"node {node['id']} ({node['type']}): {len(values)} widget values for {slots}")
        inputs = {name: value for (name, kind), value in zip(slots, values) if kind in WIDGET_TYPES}
        for slot in node.get("inputs") or []:
            if slot.get("link") is not None:
                link = links[slot["link"]]
                inputs[slot["name"]] = [str(link[1]), link[2]]
        prompt[str(node["id"])] = {"class_type": node["type"], "inputs": inputs,
                                   "_meta": {"title": node.get("title") or node["type"]}}
    return prompt


def tiny_vae_supported(comfyui: Path) -> bool:
    """Whether this ComfyUI sizes a VAE decoder from its weights (v0.25 does; v0.14 wants full size)."""
    try:
        return "decoder_ch" in (comfyui / "comfy" / "sd.py").read_text(errors="replace")
    except OSError:
        return False


def shrink_for_test(prompt: dict, *, size: int, base: int, steps: int, vae: bool = True) -> dict:
    """Tiny models instead of the real ones, a small image, few steps, a latent saved per sampler.

    Without ``vae`` the graph ends at the latents: image decoding and saving are dropped.
    """
    for node_id, node in list(prompt.items()):
        kind, inputs = node["class_type"], node["inputs"]
        if kind == "UNETLoader":
            inputs.update(unet_name=UNET_NAME, weight_dtype="default")
        elif kind == "VAELoader":
            inputs["vae_name"] = VAE_NAME
        elif kind == "CLIPTextEncode":
            prompt[node_id] = {"class_type": "DyPETestConditioning", "inputs": {"salt": 7, "tokens": 8}}
        elif kind in ("EmptySD3LatentImage", "EmptyLatentImage"):
            inputs.update(width=size, height=size)
        elif kind == "DyPE":
            inputs["base_resolution"] = base
        elif kind == "KSampler":
            inputs["steps"] = steps
            prompt[f"{node_id}900"] = {"class_type": "SaveLatent", "inputs": {
                "samples": [node_id, 0], "filename_prefix": f"dype_test/latent_{node_id}"}}
    # Drop what no output needs any more (the text encoder loaders; without a VAE, the decoding).
    outputs = ("SaveImage", "SaveLatent") if vae else ("SaveLatent",)
    needed, todo = set(), [i for i, n in prompt.items() if n["class_type"] in outputs]
    while todo:
        current = todo.pop()
        if current not in needed:
            needed.add(current)
            todo += [v[0] for v in prompt[current]["inputs"].values() if isinstance(v, list) and len(v) == 2]
    return {i: n for i, n in prompt.items() if i in needed}


def feeding(prompt: dict, node_id: str, kind: str) -> str | None:
    """The id of the nearest ``kind`` node upstream of ``node_id``."""
    todo, seen = [node_id], set()
    while todo:
        current = todo.pop(0)
        if current in seen:
            continue
        seen.add(current)
        if prompt[current]["class_type"] == kind and current != node_id:
            return current
        todo += [v[0] for v in prompt[current]["inputs"].values() if isinstance(v, list) and len(v) == 2]
    return None


# ------------------------------------------------------------------------------------ the server

class Deadline:
    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def left(self) -> float:
        return self.end - time.monotonic()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http(url: str, data: dict | None = None, timeout: float = 5.0) -> tuple[int, object]:
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # loopback only
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        payload = error.read()
        try:
            return error.code, json.loads(payload)
        except ValueError:
            return error.code, payload.decode(errors="replace")


def make_home(root: Path) -> tuple[Path, Path]:
    """The temporary ComfyUI home and the extra-model-paths YAML; returns ``(base, yaml)``."""
    base = root / "home"
    for sub in ("custom_nodes", "models", "input", "output", "temp", "user"):
        (base / sub).mkdir(parents=True)
    extra = root / "extra"
    for sub in ("diffusion_models", "vae", "custom_nodes/dype_test_nodes"):
        (extra / sub).mkdir(parents=True)
    (extra / "custom_nodes" / "comfyui-dype").symlink_to(PACK, target_is_directory=True)
    (extra / "custom_nodes" / "dype_test_nodes" / "__init__.py").write_text(TEST_NODES)
    save_file(random_state_dict(flux1_shapes(), seed=1), str(extra / "diffusion_models" / UNET_NAME))
    save_file(random_state_dict(vae_decoder_shapes(), seed=2), str(extra / "vae" / VAE_NAME))
    yaml = root / "extra_model_paths.yaml"
    yaml.write_text(
        "dype_test:\n"
        f"    base_path: {extra}\n"
        "    diffusion_models: diffusion_models\n"
        "    vae: vae\n"
        "    custom_nodes: custom_nodes\n"
    )
    return base, yaml


def die_with_parent() -> None:
    """In the server's process: get SIGTERM if this script dies first (Linux), so no server outlives it."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def stop(process: subprocess.Popen) -> None:
    """Stop the server this script started (its own process group), SIGTERM then SIGKILL."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def server_command(python: str, port: int, base: Path, yaml: Path) -> list[str]:
    """``main.py`` on the CPU on ``127.0.0.1:port`` with the home ``base`` and the extra paths ``yaml``."""
    return [python, "main.py", "--cpu", "--listen", "127.0.0.1", "--port", str(port),
            "--disable-auto-launch", "--disable-api-nodes", "--base-directory", str(base),
            "--extra-model-paths-config", str(yaml), "--database-url", "sqlite:///:memory:"]


def start_server(comfyui: Path, python: str, port: int, base: Path, yaml: Path, log_path: Path) -> subprocess.Popen:
    """Start the server (its own process group, stopped with :func:`stop`); its output goes to ``log_path``."""
    with open(log_path, "w") as log:
        return subprocess.Popen(server_command(python, port, base, yaml), cwd=comfyui, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=die_with_parent)


def wait_ready(url: str, process: subprocess.Popen, deadline: Deadline) -> bool:
    """Whether the server answers ``/object_info/DyPE`` (so this pack loaded) before the deadline."""
    while deadline.left() > 0 and process.poll() is None:
        try:
            status, _ = http(f"{url}/object_info/DyPE", timeout=min(2.0, max(0.2, deadline.left())))
            if status == 200:
                return True
        except OSError:
            pass
        time.sleep(0.25)
    return False


def fetch_object_info(url: str, workflow: dict) -> tuple[dict, str | None]:
    """``/object_info`` of the workflow's node types and the test nodes; and the first type missing, if any."""
    types = sorted({node["type"] for node in workflow["nodes"]} - NOTES)
    object_info = {}
    for kind in types + ["DyPETestConditioning", "SaveLatent"]:
        status, info = http(f"{url}/object_info/{kind}")
        if status != 200 or kind not in (info or {}):
            return object_info, kind
        object_info[kind] = info[kind]
    return object_info, None


def wait_finished(url: str, prompt_id: str, deadline: Deadline) -> dict | None:
    """The prompt's ``/history`` entry once it succeeded or failed; the last one seen (or None) at the deadline."""
    entry = None
    while deadline.left() > 0:
        status, history = http(f"{url}/history/{prompt_id}", timeout=min(5.0, max(0.2, deadline.left())))
        entry = (history or {}).get(prompt_id) if status == 200 else None
        if entry and entry.get("status", {}).get("completed") is not None and (
                entry["status"]["completed"] or entry["status"].get("status_str") == "error"):
            break
        time.sleep(0.25)
    return entry


def run(options: argparse.Namespace) -> dict:
    summary: dict = {"ok": False, "errors": [], "workflow": Path(options.workflow).name, "size": options.size,
                     "base_resolution": options.base, "steps": options.steps}
    errors = summary["errors"]
    deadline = Deadline(options.timeout)
    comfyui = Path(options.comfyui).resolve()
    with tempfile.TemporaryDirectory(prefix="dype-server-") as tmp:
        root = Path(tmp)
        base, yaml = make_home(root)
        port = free_port()
        log_path = root / "server.log"
        summary["port"] = port
        started = time.monotonic()
        process = start_server(comfyui, sys.executable, port, base, yaml, log_path)
        url = f"http://127.0.0.1:{port}"
        try:
            ready = wait_ready(url, process, deadline)
            summary["startup_s"] = round(time.monotonic() - started, 1)
            if not ready:
                errors.append("the server did not come up" + (" (it exited)" if process.poll() is not None else ""))
                return summary
            check_run(url, base, options, deadline, summary)
        finally:
            stop(process)
            summary["server_exit"] = process.returncode
            log_text = log_path.read_text(errors="replace")
            check_log(log_text, summary)
            if errors:
                summary["log_tail"] = log_text[-3000:]
    summary["ok"] = not errors
    return summary


def check_run(url: str, base: Path, options: argparse.Namespace, deadline: Deadline, summary: dict) -> None:
    errors = summary["errors"]
    workflow = json.loads(Path(options.workflow).read_text())
    object_info, missing = fetch_object_info(url, workflow)
    if missing:
        errors.append(f"the server has no node {missing}")
        return
    summary["comfyui_nodes_checked"] = len(object_info)
    vae = tiny_vae_supported(Path(options.comfyui))
    summary["vae"] = "tiny random decoder" if vae else "none: this ComfyUI loads only full-size VAE decoders"
    prompt = shrink_for_test(to_api(workflow, object_info), size=options.size, base=options.base,
                             steps=options.steps, vae=vae)
    status, queued = http(f"{url}/prompt", {"prompt": prompt, "client_id": str(uuid.uuid4())})
    if status != 200:
        errors.append(f"POST /prompt: {status} {json.dumps(queued)[:2000]}")
        return
    prompt_id = summary["prompt_id"] = queued["prompt_id"]
    started = time.monotonic()
    entry = wait_finished(url, prompt_id, deadline)
    summary["run_s"] = round(time.monotonic() - started, 1)
    if not entry:
        errors.append("the prompt did not finish in time")
        return
    summary["status"] = entry["status"].get("status_str")
    if summary["status"] != "success":
        messages = [m for m in entry["status"].get("messages", []) if m[0] == "execution_error"]
        errors.append(f"the prompt failed: {json.dumps(messages)[:2000]}")
        return
    if any(node["class_type"] == "DyPEGuide" for node in prompt.values()):
        compare_guided(prompt, entry["outputs"], base / "output", summary)
    else:
        compare_branches(prompt, entry["outputs"], base / "output", summary, images=vae)


def compare_guided(prompt: dict, outputs: dict, output_dir: Path, summary: dict) -> None:
    """A guide A/B workflow: the sampler behind the DyPE Guide (A) and the one sampling the same latent with
    the DyPE model alone (B) both saved a finite latent of the sampled size, and the two differ."""
    errors, samplers = summary["errors"], {}
    for node_id, node in prompt.items():
        if node["class_type"] == "KSampler":
            samplers[node_id] = prompt[node["inputs"]["model"][0]]["class_type"]
    guided = [i for i, kind in samplers.items() if kind == "DyPEGuide"]
    if len(guided) != 1:
        errors.append(f"expected one sampler behind a DyPE Guide, found {guided}")
        return
    target = prompt[guided[0]]["inputs"]["latent_image"]
    alone = [i for i, kind in samplers.items() if kind == "DyPE" and prompt[i]["inputs"]["latent_image"] == target]
    if len(alone) != 1:
        errors.append(f"expected one sampler of the same latent without the guide, found {alone}")
        return
    latents = {}
    for name, node_id in (("guided", guided[0]), ("unguided", alone[0])):
        files = outputs.get(f"{node_id}900", {}).get("latents", [])
        if len(files) != 1:
            errors.append(f"the {name} sampler {node_id} saved {len(files)} latents")
            return
        latents[name] = load_file(str(output_dir / files[0]["subfolder"] / files[0]["filename"]))["latent_tensor"]
    expected = [1, LATENT_CHANNELS, summary["size"] // 8, summary["size"] // 8]
    for name, latent in latents.items():
        if list(latent.shape) != expected or not bool(torch.isfinite(latent).all()):
            errors.append(f"the {name} latent is {list(latent.shape)} (expected {expected}) or not finite")
    diff = float((latents["guided"] - latents["unguided"]).abs().mean() / latents["unguided"].abs().mean())
    summary["guided_vs_unguided_mean_rel_diff"] = diff
    if not diff > 1e-3:
        errors.append(f"the guided and unguided latents do not differ (mean relative |diff| {diff:.3g})")


def compare_branches(prompt: dict, outputs: dict, output_dir: Path, summary: dict, images: bool = True) -> None:
    """Both branches (DyPE on, DyPE off) saved a latent (and an image), and they differ."""
    import numpy
    from PIL import Image

    errors, branches = summary["errors"], {}
    for node_id, node in prompt.items():
        if node["class_type"] not in ("SaveImage", "SaveLatent"):
            continue
        dype = feeding(prompt, node_id, "DyPE")
        method = prompt[dype]["inputs"]["method"] if dype else None
        files = outputs.get(node_id, {}).get("images" if node["class_type"] == "SaveImage" else "latents", [])
        if len(files) != 1:
            errors.append(f"{node['class_type']} {node_id} saved {len(files)} files")
            continue
        path = output_dir / files[0]["subfolder"] / files[0]["filename"]
        branch = branches.setdefault(method, {"dype_node": dype})
        if node["class_type"] == "SaveImage":
            branch["image"] = numpy.asarray(Image.open(path).convert("RGB"), dtype=numpy.float32)
            branch["image_file"] = files[0]["filename"]
        else:
            branch["latent"] = load_file(str(path))["latent_tensor"].float()
            branch["latent_file"] = files[0]["filename"]
    summary["branches"] = {
        str(method): {"dype_node": b["dype_node"], "image_file": b.get("image_file"),
                      "latent_file": b.get("latent_file"),
                      "image_size": list(b["image"].shape[:2]) if "image" in b else None,
                      "latent_shape": list(b["latent"].shape) if "latent" in b else None}
        for method, b in branches.items()
    }
    if "off" not in branches or len(branches) != 2:
        errors.append(f"expected a DyPE branch and an 'off' branch, got {sorted(map(str, branches))}")
        return
    on, off = branches[next(m for m in branches if m != "off")], branches["off"]
    needed = ("image", "latent") if images else ("latent",)
    if any(key not in b for b in (on, off) for key in needed):
        errors.append(f"a branch is missing its {' or '.join(needed)}")
        return
    latent_diff = float((on["latent"] - off["latent"]).abs().max())
    latent_rel = float((on["latent"] - off["latent"]).abs().mean() / off["latent"].abs().mean().clamp_min(1e-12))
    summary.update(latent_max_abs_diff=latent_diff, latent_mean_rel_diff=latent_rel)
    expected = [1, LATENT_CHANNELS, summary["size"] // 8, summary["size"] // 8]
    for name, b in (("DyPE", on), ("off", off)):
        if list(b["latent"].shape) != expected:
            errors.append(f"{name} latent has shape {list(b['latent'].shape)}, expected {expected}")
        if not bool(torch.isfinite(b["latent"]).all()):
            errors.append(f"{name} latent is not finite")
    if not latent_rel > 1e-3:
        errors.append(f"the DyPE and 'off' latents do not differ (mean relative |diff| {latent_rel:.3g})")
    if not images:
        return
    image_diff = float(numpy.abs(on["image"] - off["image"]).mean())
    summary.update(image_mean_abs_diff=image_diff,
                   image_std={"on": float(on["image"].std()), "off": float(off["image"].std())})
    for name, b in (("DyPE", on), ("off", off)):
        if list(b["image"].shape[:2]) != [summary["size"]] * 2:
            errors.append(f"{name} image is {list(b['image'].shape[:2])}")
    if not image_diff > 0.0:
        errors.append("the DyPE and 'off' images are identical")
    if not min(summary["image_std"].values()) > 0.0:
        errors.append("an image is flat (one colour): the tiny VAE saturated")


def check_log(text: str, summary: dict) -> None:
    """DyPE's plan line is there; the tiny checkpoint loaded without missing keys."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    plans = [line.strip() for line in text.splitlines() if re.search(r"(^|\] )DyPE: ", line)]
    summary["dype_log_lines"] = plans
    summary["guide_log_lines"] = [line.strip() for line in text.splitlines() if "DyPE Guide: " in line]
    if not plans:
        summary["errors"].append("no 'DyPE: ...' plan line in the server log")
    if "unet missing" in text or "unet unexpected" in text:
        summary["errors"].append("the tiny FLUX.1 checkpoint did not match the detected model")
    missing_vae = re.findall(r"Missing VAE keys \[(.*?)\]", text)
    if any(not key.strip(" '").startswith("encoder.") for keys in missing_vae for key in keys.split(",")):
        summary["errors"].append("the tiny VAE misses decoder keys")
    for line in text.splitlines():
        failed = "Cannot import" in line or "IMPORT FAILED" in line
        if failed and ("comfyui-dype" in line or "dype_test_nodes" in line):
            summary["errors"].append(line.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comfyui", default=os.environ.get("COMFYUI_PATH"), help="ComfyUI's folder")
    parser.add_argument("--workflow", default=str(DEFAULT_WORKFLOW), help="a UI-format A/B workflow")
    parser.add_argument("--size", type=int, default=512, help="image side in px (a multiple of 16)")
    parser.add_argument("--base", type=int, default=256, help="DyPE base_resolution, below --size")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=100.0,
                        help="seconds for the server's start and the run (stopping it adds at most 10)")
    options = parser.parse_args()
    if not options.comfyui:
        parser.error("--comfyui or COMFYUI_PATH is required")
    return report(run, options)


def report(run, options: argparse.Namespace) -> int:
    """Run ``run(options)``, print its JSON summary as the last line, return the exit status."""
    try:
        summary = run(options)
    except Exception as error:  # the server is already stopped; report instead of a traceback
        summary = {"ok": False, "errors": [f"{type(error).__name__}: {error}"]}
    print(json.dumps(summary), flush=True)
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
