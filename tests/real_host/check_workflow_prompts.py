"""Shipped workflows on the real ComfyUI (``COMFYUI_PATH``): each converted to an API prompt and accepted by
ComfyUI's own ``execution.validate_prompt``, as ``POST /prompt`` would.

    python check_workflow_prompts.py NAME.json [NAME.json ...]    (names in workflows/)

The model files a workflow names are created empty in a temporary models folder (validation checks names, not
contents), so the check needs no weights; running the workflows needs them. Prints one JSON object: per
workflow, whether it is valid, the error and node errors, its outputs and the DyPE nodes' inputs, or which of
its node types this ComfyUI process lacks.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

import host

host.load_pack()

import folder_paths  # noqa: E402
from server_run import to_api  # noqa: E402

import nodes  # noqa: E402

NOTES = {"MarkdownNote", "Note"}


def object_info(kind: str) -> dict:
    """What ``/object_info`` says of a node type, as far as the converter reads it."""
    sections = nodes.NODE_CLASS_MAPPINGS[kind].INPUT_TYPES()
    return {"input": sections, "input_order": {name: list(entries) for name, entries in sections.items()}}


def validate(workflow: dict, root: Path) -> dict:
    """The validation of one UI workflow, with its model files created empty under ``root``."""
    import execution

    for node in workflow["nodes"]:
        for model in node.get("properties", {}).get("models", []):
            folder = root / model["directory"]
            folder.mkdir(exist_ok=True)
            (folder / model["name"]).touch()
            folder_paths.add_model_folder_path(model["directory"], str(folder))
    kinds = {node["type"] for node in workflow["nodes"]} - NOTES
    missing = sorted(kinds - set(nodes.NODE_CLASS_MAPPINGS))
    if missing:  # ComfyUI 0.14.1: SaveAnimatedWEBP's module fails to import in this process
        return {"missing": missing}
    prompt = to_api(workflow, {kind: object_info(kind) for kind in kinds})
    valid, error, outputs, node_errors = asyncio.run(execution.validate_prompt("check", prompt, None))
    pack = {key: value["inputs"] for key, value in prompt.items() if value["class_type"] in ("DyPE", "DyPEGuide")}
    return {"valid": valid, "error": error, "outputs": outputs, "node_errors": node_errors, "pack_nodes": pack}


def main(names: list[str]) -> int:
    asyncio.run(nodes.init_extra_nodes(init_custom_nodes=False, init_api_nodes=False))
    from comfyui_dype.nodes.extension import DyPEExtension

    for node in asyncio.run(DyPEExtension().get_node_list()):
        nodes.NODE_CLASS_MAPPINGS[node.GET_SCHEMA().node_id] = node
    results = {}
    with tempfile.TemporaryDirectory(prefix="dype-workflows-") as root:
        for name in names:
            results[name] = validate(json.loads((host.REPO / "workflows" / name).read_text()), Path(root))
    print(json.dumps({"comfyui": host.comfyui_version(), "workflows": results}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
