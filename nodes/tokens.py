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
    """The embedder is called several times per forward call; the ``index``-th call (from 0)
    holds the main image at ``image``. That call is ``length`` tokens long (``None``: any
    length that covers ``image``). ``calls`` counts this forward call's embedder calls: a
    ``Segments`` is made per forward call and lives in its context.
    """

    index: int
    image: slice
    length: int | None = None
    calls: list[int] = field(default_factory=lambda: [0], compare=False, hash=False)

    def locate(self, ids: torch.Tensor) -> slice | None:
        seen = self.calls[0]
        self.calls[0] = seen + 1
        if seen != self.index:
            return None
        tokens = ids.shape[1] if ids.ndim == 3 else -1
        fits = tokens >= self.image.stop if self.length is None else tokens == self.length
        if not fits:
            raise LayoutMismatch(
                f"DyPE expected embedder call {self.index + 1} of this forward to hold the main image at "
                f"tokens {self.image.start}..{self.image.stop - 1}"
                + ("" if self.length is None else f" of {self.length}")
                + f", but it got ids of shape {list(ids.shape)}. "
                "This model version or another patch embeds its segments differently."
            )
        return self.image


Locator = Block | Segments
