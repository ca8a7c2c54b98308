"""The pack's ComfyUI extension: the list of its nodes."""

from __future__ import annotations

from comfy_api.latest import ComfyExtension, io

from .dype_node import DyPE
from .guide_node import DyPEGuide
from .plan_node import DyPEPlan


class DyPEExtension(ComfyExtension):
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        return [DyPE, DyPEGuide, DyPEPlan]
