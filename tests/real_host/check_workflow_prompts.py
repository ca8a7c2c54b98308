"""The Wan 2.1 161-frame A/B workflow on the real ComfyUI (``COMFYUI_PATH``): converted to an API prompt and
accepted by ComfyUI's own ``execution.validate_prompt``, as ``POST /prompt`` would.

The model files it names are created empty in a temporary models folder (validation checks names, not
contents), so the check needs no Wan weights; running it needs them. Prints one JSON object.
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

WORKFLOW = host.REPO / "workflows" / "wan21_t2v_14b_1280x720_161f_ab.json"


def object_info(kind: str) -> dict:
    """What ``/object_info`` says of a node type, as far as the converter reads it."""
    sections = nodes.NODE_CLASS_MAPPINGS[kind].INPUT_TYPES()
    return {"input": sections, "input_order": {name: list(entries) for name, entries in sections.items()}}


def main() -> int:
    import execution

    asyncio.run(nodes.init_extra_nodes(init_custom_nodes=False, init_api_nodes=False))
    from comfyui_dype.nodes.dype_node import DyPE

    nodes.NODE_CLASS_MAPPINGS["DyPE"] = DyPE
    workflow = json.loads(WORKFLOW.read_text())
    with tempfile.TemporaryDirectory(prefix="dype-wan-") as root:
        for node in workflow["nodes"]:
            for model in node.get("properties", {}).get("models", []):
                folder = Path(root) / model["directory"]
                folder.mkdir(exist_ok=True)
                (folder / model["name"]).touch()
                folder_paths.add_model_folder_path(model["directory"], str(folder))
        kinds = {node["type"] for node in workflow["nodes"]} - {"MarkdownNote", "Note"}
        missing = sorted(kinds - set(nodes.NODE_CLASS_MAPPINGS))
        if missing:  # ComfyUI 0.14.1: SaveAnimatedWEBP's module fails to import in this process
            print(json.dumps({"comfyui": host.comfyui_version(), "missing": missing}))
            return 0
        prompt = to_api(workflow, {kind: object_info(kind) for kind in kinds})
        valid, error, outputs, node_errors = asyncio.run(execution.validate_prompt("wan-ab", prompt, None))
    dypes = {key: value["inputs"]["time_axis"] for key, value in prompt.items() if value["class_type"] == "DyPE"}
    print(json.dumps({"comfyui": host.comfyui_version(), "valid": valid, "error": error, "outputs": outputs,
                      "node_errors": node_errors, "time_axis": dypes}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
