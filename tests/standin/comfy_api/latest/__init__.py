"""``comfy_api.latest``: the V3 extension entry points (``ComfyExtension``) and ``io``."""

from __future__ import annotations

from abc import ABC, abstractmethod

from . import _io as io

__all__ = ["ComfyExtension", "io"]


class ComfyExtension(ABC):
    async def on_load(self) -> None:  # noqa: B027 - optional hook, like the host
        """Called once when the extension is loaded."""

    @abstractmethod
    async def get_node_list(self) -> list[type[io.ComfyNode]]:
        """The node classes this extension provides."""
