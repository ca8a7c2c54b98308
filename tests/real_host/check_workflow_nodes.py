"""Print what the real ComfyUI node registry says about some node types, as JSON.

Run with ComfyUI's own Python (it needs torch and ComfyUI's requirements):

    $COMFYUI_PYTHON tests/real_host/check_workflow_nodes.py --comfyui $COMFYUI_PATH --pack . TYPE [TYPE ...]

It starts the registry in-process on the CPU: ComfyUI's built-in and extra nodes, no API nodes, no
custom nodes except this pack, which is loaded the way ComfyUI loads a custom node folder (through
a symlink named ``comfyui-dype`` in a temporary ``custom_nodes`` folder). The base directory is a
temporary folder, so model and input file lists are empty and nothing is written into ComfyUI's tree.

Output (stdout, one JSON object): ``{"comfyui_version", "pack_loaded", "nodes": {type: spec},
"missing": [types]}``, where ``spec`` is ``{"input_order": [names], "required": [names],
"inputs": {name: [type, options]}, "output_types": [...], "output_names": [...]}``; a combo's type
is ``"COMBO"`` with its options under ``options["options"]``. Log output goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import tempfile
from pathlib import Path


def json_safe(value):
    """``value`` with everything JSON cannot hold dropped (ComfyUI options may hold classes)."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items() if is_plain(v)}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value if is_plain(v)]
    return value


def is_plain(value) -> bool:
    if isinstance(value, (dict, list, tuple)):
        return True
    return value is None or isinstance(value, (str, int, float, bool))


def input_spec(entry) -> list:
    """``[type, options]`` for one input entry of ``INPUT_TYPES()``; a list type becomes a COMBO."""
    kind = entry[0]
    options = dict(entry[1]) if len(entry) > 1 and isinstance(entry[1], dict) else {}
    if isinstance(kind, (list, tuple)):
        options["options"] = list(kind)
        kind = "COMBO"
    return [str(kind), json_safe(options)]


def node_spec(cls) -> dict:
    info = cls.GET_NODE_INFO_V1() if hasattr(cls, "GET_NODE_INFO_V1") else None
    if info is not None:
        inputs_by_section = info["input"]
        output_types = list(info["output"])
        output_names = list(info.get("output_name") or output_types)
    else:
        inputs_by_section = cls.INPUT_TYPES()
        output_types = list(cls.RETURN_TYPES)
        output_names = list(getattr(cls, "RETURN_NAMES", None) or output_types)
    order, inputs = [], {}
    for section in ("required", "optional"):
        for name, entry in (inputs_by_section.get(section) or {}).items():
            order.append(name)
            inputs[name] = input_spec(entry)
    return {
        "input_order": order,
        "required": list(inputs_by_section.get("required") or {}),
        "inputs": inputs,
        "output_types": [str(t) if not isinstance(t, (list, tuple)) else "COMBO" for t in output_types],
        "output_names": [str(n) for n in output_names],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comfyui", required=True, help="ComfyUI's folder (with main.py and nodes.py)")
    parser.add_argument("--pack", required=True, help="this node pack's folder")
    parser.add_argument("types", nargs="*", help="node types to describe")
    options = parser.parse_args()

    comfyui = str(Path(options.comfyui).resolve())
    work = tempfile.TemporaryDirectory(prefix="dype-registry-")
    base = Path(work.name)
    custom_nodes = base / "custom_nodes"
    custom_nodes.mkdir()
    pack_link = custom_nodes / "comfyui-dype"
    pack_link.symlink_to(Path(options.pack).resolve(), target_is_directory=True)

    sys.argv = [sys.argv[0]]
    sys.path.insert(0, comfyui)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    # Everything ComfyUI prints goes to stderr; stdout carries only the JSON.
    with contextlib.redirect_stdout(sys.stderr):
        from comfy.cli_args import args  # must come before any other comfy import

        args.cpu = True
        args.base_directory = str(base)
        args.disable_api_nodes = True
        cwd = os.getcwd()
        os.chdir(comfyui)
        try:
            import nodes

            asyncio.run(nodes.init_extra_nodes(init_custom_nodes=False, init_api_nodes=False))
            pack_loaded = asyncio.run(nodes.load_custom_node(str(pack_link)))
        finally:
            os.chdir(cwd)
        try:
            from comfyui_version import __version__ as version
        except ImportError:
            version = None
        specs, missing = {}, []
        for node_type in options.types:
            cls = nodes.NODE_CLASS_MAPPINGS.get(node_type)
            if cls is None:
                missing.append(node_type)
            else:
                specs[node_type] = node_spec(cls)
    print(json.dumps({"comfyui_version": version, "pack_loaded": bool(pack_loaded), "nodes": specs,
                      "missing": missing}))
    work.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
