"""DyPE for ComfyUI: the pack's entry point (ComfyUI imports this folder as a package).

The nodes are imported when ComfyUI asks for them, so that importing the folder needs no
host (the test runner imports it too).
"""

#: The frontend extension (web/dype.js shows the per-run readout on the DyPE node).
WEB_DIRECTORY = "./web"


async def comfy_entrypoint():
    from .nodes.extension import DyPEExtension

    return DyPEExtension()
