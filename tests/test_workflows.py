"""The example workflows in ``workflows/``: UI format 0.4 that loads in the ComfyUI frontend.

Checked without ComfyUI: the JSON structure, the link table against both ends, ids, the node
types (core nodes, ``DyPE``, notes), the DyPE widget values against the pack's own options, the
sizes promised by each file name, a tiled decode at 4096 px and above, the read-me note, fixed
seeds with each family's sampler recipe, and the A/B workflow's two branches.

With ``COMFYUI_PATH`` set, the node types and their widget values are also checked against the
real ComfyUI node registry, read in a subprocess with ComfyUI's Python (``COMFYUI_PYTHON``,
default: this Python) by ``tests/real_host/check_workflow_nodes.py``.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / "workflows"
FILES = sorted(WORKFLOWS.glob("*.json"))
CHECKER = Path(__file__).resolve().parent / "real_host" / "check_workflow_nodes.py"

#: The workflows the pack promises (README and the node's docs point at them).
SHIPPED = {
    "flux1_dev_4096.json",
    "flux1_krea_2048x3072_portrait.json",
    "flux1_panorama_4096x1365.json",
    "flux2_dev_4096.json",
    "flux1_kontext_edit_2k.json",
    "flux1_ab_dype_vs_off.json",
    "flux1_ab_dype_sega_4096.json",
    "flux1_ab_two_pass_1024_to_2048.json",
    "qwen_image_2656x2656.json",
    "qwen_image_ab_dype_sega_4096.json",
    "qwen_image_edit_2k.json",
    "zimage_2048x3072_portrait.json",
    "hidream_i1_2048.json",
    "hunyuanimage21_4096.json",
    "mage_flow_4096.json",
    "wan21_t2v_14b_1280x720_161f_ab.json",
    "flux1_ab_guide_1024_to_4096.json",
    "zimage_ab_guide_1024_to_2048.json",
    "qwen_image_ab_guide_1328_to_2656.json",
}
#: The guide A/B workflows: native side -> target side.
GUIDED = {"flux1_ab_guide_1024_to_4096.json": (1024, 4096), "zimage_ab_guide_1024_to_2048.json": (1024, 2048),
          "qwen_image_ab_guide_1328_to_2656.json": (1328, 2656)}
#: Frontend-only nodes: not in the server's registry, never executed.
NOTES = {"Note", "MarkdownNote"}
#: Core ComfyUI node types the workflows may use.
CORE = {
    "UNETLoader", "DualCLIPLoader", "CLIPLoader", "VAELoader", "CLIPTextEncode", "FluxGuidance",
    "ConditioningZeroOut", "EmptySD3LatentImage", "EmptyFlux2LatentImage", "EmptyLatentImage", "KSampler",
    "KSamplerAdvanced", "BasicGuider", "CFGGuider", "RandomNoise", "KSamplerSelect", "BasicScheduler",
    "Flux2Scheduler", "SamplerCustomAdvanced", "VAEDecode", "VAEDecodeTiled", "VAEEncode", "SaveImage",
    "PreviewImage", "LoadImage", "FluxKontextImageScale", "ReferenceLatent", "ModelSamplingFlux", "ImageScale",
    "LatentUpscaleBy",
    # Qwen-Image / Qwen-Image-Edit, Z-Image, HiDream-I1, HunyuanImage 2.1
    "ModelSamplingAuraFlow", "ModelSamplingSD3", "TextEncodeQwenImageEditPlus", "QuadrupleCLIPLoader",
    "EmptyHunyuanImageLatent",
    # Mage-Flow (ComfyUI 0.29+)
    "TextEncodeMageFlowEdit",
    # Wan 2.1 video
    "EmptyHunyuanLatentVideo", "SaveAnimatedWEBP",
}
ALLOWED = CORE | NOTES | {"DyPE", "DyPEGuide"}
#: Nodes making the latent to be sampled -> the indices of their width and batch-size widgets (height follows
#: width).
LATENT_SIZE = {"EmptySD3LatentImage": (0, 2), "EmptyFlux2LatentImage": (0, 2), "EmptyLatentImage": (0, 2),
               "EmptyHunyuanImageLatent": (0, 2), "TextEncodeMageFlowEdit": (2, 4), "EmptyHunyuanLatentVideo": (0, 3)}
#: Loader -> the models folder its file-name widgets refer to.
LOADER_FOLDERS = {
    "UNETLoader": "diffusion_models", "DualCLIPLoader": "text_encoders", "CLIPLoader": "text_encoders",
    "QuadrupleCLIPLoader": "text_encoders", "VAELoader": "vae",
}
#: Nodes that only set the flow schedule's shift: they may sit between the loader and DyPE (upstream,
#: so that DyPE's time_shift 'model' keeps their shift), never between DyPE and the sampler.
SHIFT_NODES = {"ModelSamplingFlux", "ModelSamplingAuraFlow", "ModelSamplingSD3"}
#: KSampler settings by file-name prefix (longest match): cfg, sampler, scheduler, fewest and most steps;
#: each family's own recipe from ComfyUI's templates and docs, denoise always 1.0.
SAMPLER_RECIPES = {
    "flux1_": (1.0, "euler", "simple", 20, 50),
    "qwen_image_": (4.0, "euler", "simple", 20, 50),
    "qwen_image_edit_": (2.5, "euler", "simple", 20, 50),
    "zimage_": (1.0, "res_multistep", "simple", 8, 10),
    "hidream_i1_": (1.0, "lcm", "normal", 16, 50),
    "hunyuanimage21_": (3.5, "euler", "simple", 20, 50),
    "mage_flow_": (5.0, "euler", "simple", 20, 50),
    "wan21_": (6.0, "uni_pc", "simple", 20, 50),
}
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
#: V3 inputs that grow sockets as the user connects them (``images.image_1``, ...): none is required.
AUTOGROW = "COMFY_AUTOGROW_V3"
FILE_SUFFIXES = (".safetensors", ".sft", ".ckpt", ".pt", ".pth", ".gguf", ".png", ".jpg", ".jpeg", ".webp")
UPLOAD_FLAGS = ("image_upload", "video_upload", "audio_upload", "animated_image_upload")


# ---------------------------------------------------------------------------------------- helpers

def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def nodes_by_id(workflow: dict) -> dict[int, dict]:
    return {node["id"]: node for node in workflow["nodes"]}


def links_by_id(workflow: dict) -> dict[int, list]:
    return {link[0]: link for link in workflow["links"]}


def of_type(workflow: dict, *types: str) -> list[dict]:
    return [node for node in workflow["nodes"] if node["type"] in types]


def source(workflow: dict, node: dict, input_name: str) -> tuple[dict, int] | None:
    """The ``(node, output slot)`` feeding ``node``'s input ``input_name``, or None."""
    for slot in node.get("inputs") or []:
        if slot["name"] == input_name and slot.get("link") is not None:
            link = links_by_id(workflow)[slot["link"]]
            return nodes_by_id(workflow)[link[1]], link[2]
    return None


def upstream(workflow: dict, node: dict) -> set[int]:
    """Ids of every node ``node`` depends on, itself included."""
    seen, todo = set(), [node["id"]]
    nodes, links = nodes_by_id(workflow), links_by_id(workflow)
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for slot in nodes[current].get("inputs") or []:
            if slot.get("link") is not None:
                todo.append(links[slot["link"]][1])
    return seen


def promised_size(name: str) -> tuple[int, int] | None:
    """The ``(width, height)`` a file name promises: ``WxH``, a single ``N`` px side, or ``Nk``."""
    stem = Path(name).stem
    if match := re.search(r"(?<!\d)(\d{3,5})x(\d{3,5})(?!\d)", stem):
        return int(match[1]), int(match[2])
    if match := re.search(r"_(\d)k(?:_|$)", stem):
        side = int(match[1]) * 1024
        return side, side
    if match := re.search(r"_(\d{3,5})(?:_|$)", stem):
        side = int(match[1])
        return side, side
    return None


def latent_size(node: dict) -> tuple[int, int, int]:
    """``(width, height, batch size)`` of a node in ``LATENT_SIZE``."""
    first, batch = LATENT_SIZE[node["type"]]
    values = node["widgets_values"]
    return values[first], values[first + 1], values[batch]


def largest_side(workflow: dict) -> int:
    return max(max(latent_size(node)[:2]) for node in of_type(workflow, *LATENT_SIZE))


def note_text(workflow: dict) -> str:
    return "\n".join(str(v) for node in of_type(workflow, *NOTES) for v in node.get("widgets_values") or [])


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def widget_slots(input_order: list[str], inputs: dict) -> list[tuple[str, str, dict]]:
    """The frontend's ``widgets_values`` layout for a node: ``(input name, kind, options)`` per value.

    Every INT/FLOAT/STRING/BOOLEAN/COMBO input is one widget (a list type is a combo); an input
    with ``control_after_generate`` (or an INT named ``seed``/``noise_seed``, which the frontend
    treats the same) adds a ``control`` value after it, an upload flag an ``upload`` value.
    """
    slots = []
    for name in input_order:
        kind, options = inputs[name][0], (inputs[name][1] if len(inputs[name]) > 1 else {}) or {}
        if isinstance(kind, list):
            kind, options = "COMBO", dict(options, options=kind)
        if kind not in WIDGET_TYPES or options.get("forceInput"):
            continue
        slots.append((name, kind, options))
        control = options.get("control_after_generate")
        if control is None:
            control = kind == "INT" and name in ("seed", "noise_seed")
        if control:
            slots.append((name, "control", {"options": ["fixed", "increment", "decrement", "randomize"]}))
        if any(options.get(flag) for flag in UPLOAD_FLAGS):
            slots.append((name, "upload", {}))
    return slots


def check_widget_value(where: str, kind: str, options: dict, value) -> list[str]:
    """Problems with one widget value against its input's spec; file names are not looked up."""
    problems = []
    if kind in ("INT", "FLOAT"):
        if not is_number(value) or (kind == "INT" and value != int(value)):
            return [f"{where}: {value!r} is not a{'n integer' if kind == 'INT' else ' number'}"]
        if options.get("min") is not None and value < options["min"]:
            problems.append(f"{where}: {value} < min {options['min']}")
        if options.get("max") is not None and value > options["max"]:
            problems.append(f"{where}: {value} > max {options['max']}")
    elif kind == "BOOLEAN" and not isinstance(value, bool):
        problems.append(f"{where}: {value!r} is not a boolean")
    elif kind == "STRING" and not isinstance(value, str):
        problems.append(f"{where}: {value!r} is not a string")
    elif kind == "COMBO" and isinstance(value, str) and value.lower().endswith(FILE_SUFFIXES):
        pass  # a file-list combo (models, input images): the files are not installed where the tests run
    elif kind in ("COMBO", "control") and options.get("options") and value not in options["options"]:
        problems.append(f"{where}: {value!r} is not one of {options['options']}")
    return problems


def check_node_against_spec(workflow: dict, node: dict, spec: dict) -> list[str]:
    """A UI node against its type's registry entry: sockets, link types, widget values."""
    where = f"node {node['id']} ({node['type']})"
    inputs, problems = spec["inputs"], []
    linked = {slot["name"] for slot in node.get("inputs") or [] if slot.get("link") is not None}
    for slot in node.get("inputs") or []:
        if slot["name"] not in inputs:
            problems.append(f"{where}: input {slot['name']!r} does not exist (has {list(inputs)})")
            continue
        kind = inputs[slot["name"]][0]
        kind = "COMBO" if isinstance(kind, list) else kind
        if slot.get("type") not in (kind, "*") and not ("widget" in slot and kind in WIDGET_TYPES):
            problems.append(f"{where}: input {slot['name']!r} is {slot.get('type')}, the node says {kind}")
    for name in spec["input_order"]:
        kind = inputs[name][0]
        required = name in spec.get("required", spec["input_order"])
        growing = kind == AUTOGROW
        if not isinstance(kind, list) and kind not in WIDGET_TYPES and required and name not in linked and not growing:
            problems.append(f"{where}: required input {name!r} ({kind}) is not connected")
    for index, slot in enumerate(node.get("outputs") or []):
        if index >= len(spec["output_types"]):
            problems.append(f"{where}: output slot {index} does not exist")
        elif slot["type"] != spec["output_types"][index]:
            problems.append(f"{where}: output {index} is {slot['type']}, the node says {spec['output_types'][index]}")
    slots = widget_slots(spec["input_order"], inputs)
    values = node.get("widgets_values") or []
    if len(values) != len(slots):
        names = [name if kind not in ("control", "upload") else f"{name}:{kind}" for name, kind, _ in slots]
        return problems + [f"{where}: {len(values)} widget values, the node has {len(slots)}: {names}"]
    for (name, kind, options), value in zip(slots, values):
        if name not in linked:
            problems.extend(check_widget_value(f"{where} {name}", kind, options, value))
    return problems


def dype_module():
    """``nodes/dype_node.py`` imported from the pack (tests/conftest.py loads it as ``comfyui_dype``)."""
    return importlib.import_module("comfyui_dype.nodes.dype_node")


def dype_menu():
    """The node's menus and input checks (``dype_core/menu.py``), as the pack imports them."""
    return importlib.import_module("comfyui_dype.dype_core.menu")


def dype_spec() -> dict:
    node = dype_module().DyPE
    types = node.INPUT_TYPES()
    order = [name for section in ("required", "optional") for name in (types.get(section) or {})]
    inputs = {name: list(entry) for section in ("required", "optional") for name, entry in
              (types.get(section) or {}).items()}
    return {"input_order": order, "inputs": inputs, "required": list(types.get("required") or {}),
            "output_types": ["MODEL"]}


# ------------------------------------------------------------------------------------ CI checks

def test_the_shipped_workflows_are_there():
    assert {path.name for path in FILES} >= SHIPPED, f"missing: {sorted(SHIPPED - {p.name for p in FILES})}"
    assert all(path.suffix == ".json" for path in WORKFLOWS.iterdir() if path.is_file())


@pytest.fixture(params=FILES, ids=[path.name for path in FILES])
def workflow(request) -> dict:
    data = load(request.param)
    data["_name"] = request.param.name
    return data


def test_top_level_format(workflow):
    assert workflow["version"] == 0.4
    for key, kind in (("nodes", list), ("links", list), ("groups", list), ("config", dict), ("extra", dict),
                      ("last_node_id", int), ("last_link_id", int)):
        assert isinstance(workflow.get(key), kind), f"{key} should be a {kind.__name__}"
    for node in workflow["nodes"]:
        for key, kind in (("id", int), ("type", str), ("pos", list), ("size", list), ("flags", dict),
                          ("order", int), ("mode", int), ("inputs", list), ("outputs", list),
                          ("properties", dict), ("widgets_values", list)):
            assert isinstance(node.get(key), kind), f"node {node.get('id')}: {key} should be a {kind.__name__}"
        assert len(node["pos"]) == 2 and len(node["size"]) == 2 and all(map(is_number, node["pos"] + node["size"]))
        assert node["mode"] == 0, f"node {node['id']} ({node['type']}) is muted or bypassed"
        if node["type"] not in NOTES:
            assert node["properties"].get("Node name for S&R") == node["type"]
    for group in workflow["groups"]:
        assert isinstance(group.get("title"), str) and len(group.get("bounding", [])) == 4


def test_ids_are_unique_and_counters_cover_them(workflow):
    node_ids = [node["id"] for node in workflow["nodes"]]
    link_ids = [link[0] for link in workflow["links"]]
    assert len(set(node_ids)) == len(node_ids), f"duplicate node ids: {Counter(node_ids).most_common(3)}"
    assert len(set(link_ids)) == len(link_ids), f"duplicate link ids: {Counter(link_ids).most_common(3)}"
    # The frontend numbers the next node/link from these counters: below the highest id they
    # would hand out an id that is already taken.
    assert workflow["last_node_id"] >= max(node_ids)
    assert workflow["last_link_id"] >= max(link_ids, default=0)
    orders = [node["order"] for node in workflow["nodes"]]
    assert len(set(orders)) == len(orders)


def test_link_table_matches_both_ends(workflow):
    nodes = nodes_by_id(workflow)
    for link in workflow["links"]:
        assert isinstance(link, list) and len(link) == 6, f"link {link!r} is not [id, from, slot, to, slot, type]"
        link_id, origin, origin_slot, target, target_slot, kind = link
        assert origin in nodes and target in nodes, f"link {link_id} joins missing nodes"
        outputs, inputs = nodes[origin]["outputs"], nodes[target]["inputs"]
        assert 0 <= origin_slot < len(outputs) and 0 <= target_slot < len(inputs), f"link {link_id}: bad slot"
        assert link_id in (outputs[origin_slot].get("links") or []), f"link {link_id} missing at its origin"
        assert inputs[target_slot].get("link") == link_id, f"link {link_id} missing at its target"
        assert kind == outputs[origin_slot]["type"] == inputs[target_slot]["type"], f"link {link_id}: types differ"
    links = links_by_id(workflow)
    for node in workflow["nodes"]:
        for slot_index, slot in enumerate(node["inputs"]):
            if slot.get("link") is not None:
                link = links.get(slot["link"])
                assert link and (link[3], link[4]) == (node["id"], slot_index), f"node {node['id']} input {slot}"
        for slot_index, slot in enumerate(node["outputs"]):
            for link_id in slot.get("links") or []:
                link = links.get(link_id)
                assert link and (link[1], link[2]) == (node["id"], slot_index), f"node {node['id']} output {slot}"


def test_only_core_nodes_dype_and_notes(workflow):
    unknown = {node["type"] for node in workflow["nodes"]} - ALLOWED
    assert not unknown, f"node types outside the allow-list: {sorted(unknown)}"


def test_dype_is_on_every_sampling_path(workflow):
    dypes = {node["id"] for node in of_type(workflow, "DyPE")}
    assert dypes, "no DyPE node"
    samplers = of_type(workflow, "KSampler", "KSamplerAdvanced", "BasicGuider", "CFGGuider")
    assert samplers
    for sampler in samplers:
        feed = source(workflow, sampler, "model")
        if feed and feed[0]["type"] == "DyPEGuide":  # the guide patches DyPE's model, after it
            feed = source(workflow, feed[0], "model")
        assert feed and feed[0]["type"] == "DyPE", f"{sampler['type']} {sampler['id']} samples without DyPE"
    for dype in of_type(workflow, "DyPE"):
        feed = source(workflow, dype, "model")
        while feed and feed[0]["type"] in SHIFT_NODES:
            feed = source(workflow, feed[0], "model")
        assert feed and feed[0]["type"] == "UNETLoader", \
            "DyPE should take the loaded diffusion model (through shift nodes only)"


def test_dype_widget_values_are_valid_options(workflow):
    menu, spec = dype_menu(), dype_spec()
    names = [name for name, _, _ in widget_slots(spec["input_order"], spec["inputs"])]
    assert names == ["method", "lambda_s", "lambda_t", "yarn_ramp", "base_resolution", "scaling",
                     "attention_scale", "time_shift", "mu", "time_axis", "proportional_attention"]
    for node in of_type(workflow, "DyPE"):
        values = node["widgets_values"]
        assert len(values) == len(names), f"DyPE {node['id']}: {len(values)} widget values"
        settings = dict(zip(names, values))
        assert settings["method"] in menu.METHODS
        assert settings["yarn_ramp"] in menu.RAMPS
        assert settings["scaling"] in menu.SCALINGS
        assert settings["time_shift"] in menu.TIME_SHIFTS
        assert isinstance(settings["attention_scale"], bool)
        assert isinstance(settings["base_resolution"], int) and not isinstance(settings["base_resolution"], bool)
        assert all(is_number(settings[k]) for k in ("lambda_s", "lambda_t", "mu"))
        assert check_node_against_spec(workflow, node, spec) == []
        menu.settings(**{k: settings[k] for k in ("method", "lambda_s", "lambda_t", "yarn_ramp", "scaling",
                                                  "attention_scale", "time_axis")})
        menu.check_shift(settings["time_shift"], settings["mu"], settings["base_resolution"])


def test_sizes_are_the_ones_the_name_promises(workflow):
    latents = of_type(workflow, *LATENT_SIZE)
    assert latents, "no empty-latent node setting the size"
    sizes = {latent_size(node)[:2] for node in latents}
    if workflow["_name"] in GUIDED:  # the native pass and the large one
        assert sizes == {(side, side) for side in GUIDED[workflow["_name"]]}, sizes
        return
    assert len(sizes) == 1, f"several sizes: {sizes}"
    assert all(latent_size(node)[2] == 1 for node in latents), "batch size should be 1"
    size = promised_size(workflow["_name"])
    if size is None:  # the A/B file: its size is checked with the A/B test
        assert workflow["_name"] == "flux1_ab_dype_vs_off.json", f"{workflow['_name']} names no size"
        return
    assert sizes == {size}, f"{workflow['_name']} promises {size}, the latent is {sizes}"


def test_tiled_decode_at_4096_and_above(workflow):
    largest = largest_side(workflow)
    decoders = of_type(workflow, "VAEDecode", "VAEDecodeTiled")
    assert decoders, "nothing decodes the latent"
    if largest >= 4096:
        assert all(node["type"] == "VAEDecodeTiled" for node in decoders), "a full VAE decode at 4K"
        for node in decoders:
            tile, overlap = node["widgets_values"][:2]
            assert 256 <= tile <= 2048 and 0 <= overlap < tile


def test_note_says_what_it_shows_which_files_and_the_cost(workflow):
    notes = of_type(workflow, *NOTES)
    assert notes, "no Note / MarkdownNote node"
    text = note_text(workflow)
    assert "DyPE" in text and len(text) > 300
    for loader in of_type(workflow, *LOADER_FOLDERS):
        for value in loader["widgets_values"]:
            if isinstance(value, str) and value.endswith(".safetensors"):
                assert value in text, f"the note does not name {value}"
        assert LOADER_FOLDERS[loader["type"]] in text, f"the note does not say where {loader['type']} files go"
    assert re.search(r"\bcost\b", text, re.IGNORECASE), "the note says nothing about the cost"
    if largest_side(workflow) >= 4096:
        assert "VAEDecodeTiled" in text or "tiled" in text.lower()


def test_loaders_declare_their_model_files(workflow):
    """``properties.models`` lets the frontend offer the download of a missing model file."""
    for loader in of_type(workflow, *LOADER_FOLDERS):
        files = [v for v in loader["widgets_values"] if isinstance(v, str) and v.endswith(".safetensors")]
        declared = {entry["name"]: entry for entry in loader["properties"].get("models", [])}
        for name in files:
            assert name in declared, f"{loader['type']} {loader['id']}: {name} not in properties.models"
            assert declared[name]["directory"] == LOADER_FOLDERS[loader["type"]]
            assert declared[name]["url"].startswith("https://huggingface.co/")
            assert declared[name]["url"].endswith("/" + name)


def test_seeds_are_fixed_and_outputs_named(workflow):
    for node in of_type(workflow, "KSampler", "KSamplerAdvanced", "RandomNoise"):
        index = 1 if node["type"] == "KSamplerAdvanced" else 0
        seed, control = node["widgets_values"][index:index + 2]
        assert isinstance(seed, int) and seed > 0 and control == "fixed", f"{node['type']} {node['id']}"
    for node in of_type(workflow, "KSampler"):
        steps, cfg, sampler, scheduler, denoise = node["widgets_values"][2:]
        prefixes = [prefix for prefix in SAMPLER_RECIPES if workflow["_name"].startswith(prefix)]
        assert prefixes, f"{workflow['_name']}: no sampler recipe for its family in SAMPLER_RECIPES"
        want_cfg, want_sampler, want_scheduler, fewest, most = SAMPLER_RECIPES[max(prefixes, key=len)]
        assert (cfg, sampler, scheduler, denoise) == (want_cfg, want_sampler, want_scheduler, 1.0), node["id"]
        assert fewest <= steps <= most, f"KSampler {node['id']}: {steps} steps"
    prefixes = [node["widgets_values"][0] for node in of_type(workflow, "SaveImage", "SaveAnimatedWEBP")]
    assert prefixes and all(prefixes) and len(set(prefixes)) == len(prefixes)


def test_wan_ab_workflow_compares_the_time_axis_with_plain_time_on_the_same_seed():
    workflow = load(WORKFLOWS / "wan21_t2v_14b_1280x720_161f_ab.json")
    names = [name for name, _, _ in widget_slots(dype_spec()["input_order"], dype_spec()["inputs"])]
    dypes = [dict(zip(names, node["widgets_values"])) for node in of_type(workflow, "DyPE")]
    assert sorted(d["time_axis"] for d in dypes) == ["RIFLEx", "off"]
    assert [{k: v for k, v in d.items() if k != "time_axis"} for d in dypes][0] == \
        [{k: v for k, v in d.items() if k != "time_axis"} for d in dypes][1], "only the time axis should differ"
    samplers = of_type(workflow, "KSampler")
    assert len(samplers) == 2 and samplers[0]["widgets_values"] == samplers[1]["widgets_values"]
    length = of_type(workflow, "EmptyHunyuanLatentVideo")[0]["widgets_values"][2]
    assert length == 161 and (length - 1) // 4 + 1 > 21  # 41 latent frames, above Wan's trained 21
    text = note_text(workflow)
    assert "loop" in text and "freeze" in text and "What to look for" in text


def test_ab_workflow_compares_dype_with_off_on_the_same_seed():
    workflow = load(WORKFLOWS / "flux1_ab_dype_vs_off.json")
    module = dype_module()
    dypes = of_type(workflow, "DyPE")
    assert len(dypes) == 2
    methods = sorted(node["widgets_values"][0] for node in dypes)
    assert methods[1] == "off" and methods[0] != "off" and module.METHODS[methods[0]][1], methods
    assert dypes[0]["widgets_values"][1:] == dypes[1]["widgets_values"][1:], "only the method should differ"
    models = {source(workflow, node, "model")[0]["id"] for node in dypes}
    assert len(models) == 1, "both branches should patch the same loaded model"

    samplers = of_type(workflow, "KSampler")
    assert len(samplers) == 2
    assert samplers[0]["widgets_values"] == samplers[1]["widgets_values"], "same seed and settings"
    assert {source(workflow, node, "model")[0]["id"] for node in samplers} == {node["id"] for node in dypes}
    for name in ("positive", "negative", "latent_image"):
        feeds = {source(workflow, node, name)[0]["id"] for node in samplers}
        assert len(feeds) == 1, f"the branches should share {name}"

    sizes = {latent_size(node)[:2] for node in of_type(workflow, *LATENT_SIZE)}
    assert sizes in ({(2048, 2048)}, {(3072, 3072)}), f"A/B size {sizes}: DyPE should be active (above 1024)"

    saves = of_type(workflow, "SaveImage")
    assert len(saves) == 2 and saves[0]["widgets_values"] != saves[1]["widgets_values"]
    branch = [upstream(workflow, node) & {node["id"] for node in dypes} for node in saves]
    assert all(len(found) == 1 for found in branch) and branch[0] != branch[1], "one image per branch"


@pytest.mark.parametrize("name", ["flux1_ab_dype_sega_4096.json", "qwen_image_ab_dype_sega_4096.json"])
def test_method_ab_workflows_compare_dype_sega_and_sega_with_proportional_attention_on_one_seed(name):
    workflow = load(WORKFLOWS / name)
    spec = dype_spec()
    names = [n for n, _, _ in widget_slots(spec["input_order"], spec["inputs"])]
    dypes = [dict(zip(names, node["widgets_values"])) for node in of_type(workflow, "DyPE")]
    assert [(d["method"], d["proportional_attention"]) for d in dypes] == [
        ("Dy-YaRN", False), ("SEGA", False), ("SEGA", True)]
    rest = [{k: v for k, v in d.items() if k not in ("method", "proportional_attention")} for d in dypes]
    assert rest[0] == rest[1] == rest[2], "only the method and proportional attention should differ"
    assert len({source(workflow, node, "model")[0]["id"] for node in of_type(workflow, "DyPE")}) == 1
    samplers = of_type(workflow, "KSampler")
    assert len(samplers) == 3 and all(s["widgets_values"] == samplers[0]["widgets_values"] for s in samplers)
    for input_name in ("positive", "negative", "latent_image"):
        assert len({source(workflow, node, input_name)[0]["id"] for node in samplers}) == 1
    assert {latent_size(node)[:2] for node in of_type(workflow, *LATENT_SIZE)} == {(4096, 4096)}
    saves = of_type(workflow, "SaveImage")
    branch = [upstream(workflow, node) & {node["id"] for node in of_type(workflow, "DyPE")} for node in saves]
    assert len(saves) == 3 and all(len(found) == 1 for found in branch) and len({*map(frozenset, branch)}) == 3
    assert "AReA" in note_text(workflow) and "SEGA" in note_text(workflow)


def test_two_pass_workflow_upscales_and_resamples_with_the_same_dype_model():
    workflow = load(WORKFLOWS / "flux1_ab_two_pass_1024_to_2048.json")
    dypes = of_type(workflow, "DyPE")
    assert sorted(node["widgets_values"][0] for node in dypes)[1] == "off" and len(dypes) == 2
    assert dypes[0]["widgets_values"][1:] == dypes[1]["widgets_values"][1:], "only the method should differ"
    upscales = of_type(workflow, "LatentUpscaleBy")
    assert len(upscales) == 2 and all(node["widgets_values"][1] == 2.0 for node in upscales)
    schedulers = of_type(workflow, "BasicScheduler")
    assert len(schedulers) == 2 and all(node["widgets_values"][2] == 0.5 for node in schedulers)
    dype_ids = {node["id"] for node in dypes}
    for first in of_type(workflow, "KSampler"):
        assert source(workflow, first, "model")[0]["id"] in dype_ids
    for scheduler in schedulers:  # pass 2's schedule comes from the same DyPE model as pass 1
        assert source(workflow, scheduler, "model")[0]["id"] in dype_ids
    for upscale in upscales:
        assert source(workflow, upscale, "samples")[0]["type"] == "KSampler"
    assert all(node["type"] == "VAEDecodeTiled" for node in workflow["nodes"] if node["type"].startswith("VAEDecode"))


@pytest.mark.parametrize("name", sorted(GUIDED))
def test_guide_workflows_compare_the_guided_pass_with_dype_alone_on_one_seed(name):
    """The native pass's sample, upscaled, is the guide of branch A; branch B samples unguided; one seed, one
    prompt, one empty latent at the target size. Each sampler has its own DyPE node (alike, on one model), so
    that each node's readout shows its own run."""
    workflow = load(WORKFLOWS / name)
    native, target = GUIDED[name]
    dypes, (guide,) = of_type(workflow, "DyPE"), of_type(workflow, "DyPEGuide")
    assert len(dypes) == 3 and all(node["widgets_values"] == dypes[0]["widgets_values"] for node in dypes)
    assert len({source(workflow, node, "model")[0]["id"] for node in dypes}) == 1
    strength, projection = guide["widgets_values"]
    dype_menu().guide_projection(strength, projection)
    upscale, _ = source(workflow, guide, "guide")
    assert upscale["type"] == "LatentUpscaleBy" and upscale["widgets_values"] == ["bicubic", target / native]
    first, _ = source(workflow, upscale, "samples")
    assert first["type"] == "KSampler" and source(workflow, first, "model")[0]["type"] == "DyPE"
    assert latent_size(source(workflow, first, "latent_image")[0])[:2] == (native, native)
    samplers = [node for node in of_type(workflow, "KSampler") if node["id"] != first["id"]]
    assert sorted(source(workflow, node, "model")[0]["type"] for node in samplers) == ["DyPE", "DyPEGuide"]
    assert source(workflow, guide, "model")[0]["type"] == "DyPE"
    models = {source(workflow, node, "model")[0]["id"] for node in (first, guide, *samplers)}
    assert len(models & {node["id"] for node in dypes}) == 3, "one DyPE node per sampler"
    assert samplers[0]["widgets_values"] == samplers[1]["widgets_values"] == first["widgets_values"]
    for input_name in ("positive", "negative", "latent_image"):
        assert len({source(workflow, node, input_name)[0]["id"] for node in samplers}) == 1
    assert latent_size(source(workflow, samplers[0], "latent_image")[0])[:2] == (target, target)
    assert len({node["widgets_values"][0] for node in of_type(workflow, "SaveImage")}) == 3
    assert "What to compare" in note_text(workflow) and "I-Max" in note_text(workflow)


# ------------------------------------------------------------------------ against the real host

@pytest.fixture(scope="module")
def registry() -> dict:
    comfyui = os.environ.get("COMFYUI_PATH")
    if not comfyui:
        pytest.skip("COMFYUI_PATH is unset: no real ComfyUI registry to check against")
    python = os.environ.get("COMFYUI_PYTHON", sys.executable)
    types = sorted({node["type"] for path in FILES for node in load(path)["nodes"]} - NOTES)
    done = subprocess.run(
        [python, str(CHECKER), "--comfyui", comfyui, "--pack", str(ROOT), *types],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


#: Workflows checked only from a ComfyUI version on: Mage-Flow arrived in 0.29; the Wan A/B saves with
#: ``SaveAnimatedWEBP``, whose module (``comfy_extras/nodes_images.py``) 0.14.1 fails to import in the
#: registry check's process (its ``utils`` package is shadowed there), so it is checked from 0.25.
NEEDS = {"mage_flow_4096.json": (0, 29), "wan21_t2v_14b_1280x720_161f_ab.json": (0, 25)}


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2])


def test_every_node_type_exists_in_the_real_registry(registry):
    assert registry["pack_loaded"], "ComfyUI did not load the pack"
    running = version(registry["comfyui_version"])
    needed = {node["type"] for path in FILES if running >= NEEDS.get(path.name, (0, 0)) for node in load(path)["nodes"]}
    missing = [name for name in registry["missing"] if name in needed]
    assert missing == [], f"not in ComfyUI {registry['comfyui_version']}: {missing}"
    newer = sorted(set(registry["missing"]) - needed)
    print(f"ComfyUI {registry['comfyui_version']} lacks {newer}, used only by workflows for newer models")


def test_every_workflow_for_a_newer_model_says_which_comfyui_it_needs():
    name = "mage_flow_4096.json"
    major, minor = NEEDS[name]
    assert f"ComfyUI {major}.{minor} or newer" in note_text(load(WORKFLOWS / name))


@pytest.mark.parametrize("path", FILES, ids=[path.name for path in FILES])
def test_widget_values_match_the_real_nodes(registry, path):
    if version(registry["comfyui_version"]) < NEEDS.get(path.name, (0, 0)):
        pytest.skip(f"{path.name} needs ComfyUI {'.'.join(map(str, NEEDS[path.name]))} or newer")
    workflow = load(path)
    problems = []
    for node in workflow["nodes"]:
        if node["type"] not in NOTES and node["type"] in registry["nodes"]:
            problems += check_node_against_spec(workflow, node, registry["nodes"][node["type"]])
    assert not problems, "\n".join(problems)
