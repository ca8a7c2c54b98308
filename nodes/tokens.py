"""Where the main image's tokens are in the ids a rotary embedder receives.

A family's model builds one ids tensor per forward call (text, image, references in a fixed
order) or calls its embedder once per segment (Lumina, Z-Image). The DyPE wrapper knows the
main image's token count from the latent; a locator turns that into the tokens of one
embedder call. ``locate`` returns ``None`` for a call that holds none of them (a caption or
reference segment): such a call gets the host's own table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


class LayoutMismatch(RuntimeError):
    """The embedder got ids that do not hold the main image where the family says."""


@dataclass(frozen=True)
class Block:
    """The main image is the ``image`` range of the single ids tensor of a forward call.

    Negative bounds count from the end (a model that puts the image last).
    """

    image: slice
    count: int

    def locate(self, ids: torch.Tensor) -> slice:
        start, stop, _ = self.image.indices(ids.shape[1]) if ids.ndim == 3 else (0, 0, 1)
        if ids.ndim != 3 or stop - start != self.count:
            raise LayoutMismatch(
                f"DyPE expected ids [batch, tokens, axes] holding {self.count} image tokens at {self.image}, "
                f"but the embedder got ids of shape {list(ids.shape)}. "
                "Another patch may have changed the model's token layout."
            )
        return slice(start, stop)


@dataclass(frozen=True)
class Segments:
    """The embedder is called once per segment; the main image is one of them.

    Image segments are ``length`` tokens long (the image's ``count`` tokens, then padding).
    ``skip`` segments of that length (references the model embeds first) precede the main
    image's. ``calls`` counts the matching calls of the current forward call only: a
    ``Segments`` is made per forward call and lives in its context.
    """

    count: int
    length: int
    skip: int = 0
    calls: list[int] = field(default_factory=lambda: [0], compare=False, hash=False)

    def locate(self, ids: torch.Tensor) -> slice | None:
        if ids.ndim != 3 or ids.shape[1] != self.length:
            return None
        seen = self.calls[0]
        self.calls[0] = seen + 1
        return slice(0, self.count) if seen == self.skip else None


Locator = Block | Segments
