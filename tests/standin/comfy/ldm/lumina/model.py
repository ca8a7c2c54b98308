# ruff: noqa: B006  (mutable defaults mirror the host signatures)
"""Tiny Lumina 2 / Z-Image NextDiT and the pixel-space NextDiTPixelSpace (``comfy.ldm.lumina.model``).

Reproduced from the host: ``forward(x, timesteps, context, num_tokens, attention_mask=None, **kwargs)`` runs
the DIFFUSION_MODEL wrapper chain with five positional arguments, ``transformer_options`` in the keywords.
The embedder ``rope_embedder`` is called once per segment with batch-1 float32 ids, each table moved to
``[1, L, 1, ...]`` (``movedim(1, 2)``). Segments: each reference (Omni: any ``ref_latents``), then the main
image; each segment embeds its caption, in Omni mode on a checkpoint with ``siglip_embedder`` a SigLIP
part, then its image; leftover reference captions follow. Caption ids ``(offset + 1 + i, 0, 0)`` over the
caption padded to ``pad_tokens_multiple`` (a segment without a caption: one block of pad tokens, length 0);
SigLIP ids ``(start + 2, floor(linspace(0, 8h - 1, h)), ...)`` or zeros for pad tokens; image ids
``(start + 1, r * scale_y + shift_y, c * scale_x + shift_x)`` from ``rope_options``, padded with zero ids.
``start`` is the offset plus the caption length, padded (no SigLIP part) or not (with one); the next
segment's offset is ``start + 2``. Tables are concatenated as captions, SigLIP parts, images (main last).
``NextDiTPixelSpace.forward`` returns ``(x - out) / timesteps`` around the same chain.
"""

from __future__ import annotations

import torch
from torch import nn

from ...patcher_extension import WrapperExecutor, WrappersMP, get_all_wrappers
from ..flux.layers import EmbedND
from ..tiny import TinyCore, patchify, unpatchify


class NextDiT(nn.Module):
    def __init__(self, patch_size=2, in_channels=16, dim=96, n_heads=1, cap_feat_dim=32, axes_dims=(16, 56, 56),
                 axes_lens=(1, 512, 512), rope_theta=10000.0, time_scale=1.0, pad_tokens_multiple=None,
                 clip_text_dim=None, siglip_feat_dim=None, dtype=None, device=None, **kwargs):
        super().__init__()
        head_dim = dim // n_heads
        self.dtype, self.patch_size, self.in_channels = dtype, patch_size, in_channels
        self.pad_tokens_multiple, self.time_scale, self.axes_lens = pad_tokens_multiple, time_scale, axes_lens
        self.rope_embedder = EmbedND(dim=head_dim, theta=rope_theta, axes_dim=list(axes_dims))
        self.core = TinyCore(patch_size * patch_size * in_channels, head_dim, cap_feat_dim, device=device, dtype=dtype)
        self.pad_token = nn.Parameter(torch.zeros(1, 1, head_dim, device=device, dtype=dtype))
        self.siglip_embedder = nn.Linear(siglip_feat_dim, head_dim, device=device, dtype=dtype) \
            if siglip_feat_dim else None
        self.clip_text_pooled_proj = nn.Linear(clip_text_dim, 1, device=device, dtype=dtype) if clip_text_dim else None

    def _pads(self, batch: int, count: int) -> torch.Tensor:
        return self.pad_token.expand(batch, count, -1)

    def _padded(self, tokens, ids):
        """Image and SigLIP parts padded to ``pad_tokens_multiple`` with zero ids."""
        extra = (-tokens.shape[1]) % (self.pad_tokens_multiple or 1)
        return torch.cat((tokens, self._pads(tokens.shape[0], extra)), 1), nn.functional.pad(ids, (0, 0, 0, extra))

    def embed_cap(self, cap, offset, batch, device):
        if cap is None:
            tokens, length = self._pads(batch, self.pad_tokens_multiple), 0
        else:
            length = cap.shape[1]
            tokens = self.core.txt_in(cap)
            tokens = torch.cat((tokens, self._pads(batch, (-length) % (self.pad_tokens_multiple or 1))), 1)
        ids = torch.zeros(1, tokens.shape[1], 3, dtype=torch.float32, device=device)
        ids[:, :, 0] = torch.arange(tokens.shape[1], dtype=torch.float32, device=device) + 1.0 + offset
        return tokens, self.rope_embedder(ids).movedim(1, 2), length

    def embed_all(self, x, cap, siglip, offset, omni, transformer_options):
        """``{part: (tokens, table)}`` of one segment and the next segment's offset."""
        batch, device = x.shape[0], x.device
        cap_tokens, cap_table, length = self.embed_cap(cap, offset, batch, device)
        parts = {"cap": (cap_tokens, cap_table)}
        if not omni or self.siglip_embedder is None:
            start = cap_tokens.shape[1] + offset
        else:
            start = length + offset
            ids = torch.zeros(1, self.pad_tokens_multiple, 3, dtype=torch.float32, device=device)
            tokens = self._pads(batch, self.pad_tokens_multiple)
            if siglip is not None:
                b, h, w, c = siglip.shape
                ids = torch.zeros(1, h * w, 3, dtype=torch.float32, device=device)
                ids[:, :, 0] = start + 2
                ids[:, :, 1] = torch.linspace(0, h * 8 - 1, h, device=device).floor().view(-1, 1).repeat(1, w).flatten()
                ids[:, :, 2] = torch.linspace(0, w * 8 - 1, w, device=device).floor().view(1, -1).repeat(h, 1).flatten()
                tokens, ids = self._padded(self.siglip_embedder(siglip.reshape(b, h * w, c)), ids)
            parts["siglip"] = (tokens, self.rope_embedder(ids).movedim(1, 2))
        rows, cols = x.shape[-2] // self.patch_size, x.shape[-1] // self.patch_size
        rope, f32 = transformer_options.get("rope_options") or {}, dict(dtype=torch.float32, device=device)
        row = torch.arange(rows, **f32) * rope.get("scale_y", 1.0) + rope.get("shift_y", 0.0)
        col = torch.arange(cols, **f32) * rope.get("scale_x", 1.0) + rope.get("shift_x", 0.0)
        ids = torch.zeros(1, rows * cols, 3, **f32)
        ids[:, :, 0] = start + 1
        ids[:, :, 1] = row.view(-1, 1).repeat(1, cols).flatten()
        ids[:, :, 2] = col.view(1, -1).repeat(rows, 1).flatten()
        tokens, ids = self._padded(self.core.img_in(patchify(x, self.patch_size)), ids)
        parts["image"] = (tokens, self.rope_embedder(ids).movedim(1, 2))
        return parts, start + 2

    def forward(self, x, timesteps, context, num_tokens, attention_mask=None, **kwargs):
        wrappers = get_all_wrappers(WrappersMP.DIFFUSION_MODEL, kwargs.get("transformer_options", {}))
        return WrapperExecutor.new_class_executor(self._forward, self, wrappers).execute(
            x, timesteps, context, num_tokens, attention_mask, **kwargs)

    def _forward(self, x, timesteps, context, num_tokens, attention_mask=None, ref_latents=[], ref_contexts=[],
                 siglip_feats=[], transformer_options={}, **kwargs):
        b, c, h, w = x.shape
        p = self.patch_size
        x = nn.functional.pad(x, (0, (-w) % p, 0, (-h) % p))
        omni = len(ref_latents) > 0
        segments = [(ref, ref_contexts[i] if i < len(ref_contexts) else None,
                     siglip_feats[i] if i < len(siglip_feats) else None) for i, ref in enumerate(ref_latents)]
        parts, offset = {"cap": [], "siglip": [], "image": []}, 0
        for image, cap, siglip in [*segments, (x, context, None)]:
            found, offset = self.embed_all(image, cap, siglip, offset, omni, transformer_options)
            for name, part in found.items():
                parts[name].append(part)
        for cap in ref_contexts[len(ref_latents):] if omni else []:
            tokens, table, length = self.embed_cap(cap, offset, b, x.device)
            parts["cap"].append((tokens, table))
            offset += length
        every = [part for name in ("cap", "siglip", "image") for part in parts[name]]
        tokens, table = torch.cat([t for t, _ in every], 1), torch.cat([f for _, f in every], 1)
        t = 1.0 - timesteps
        if self.clip_text_pooled_proj is not None:
            pooled = kwargs.get("clip_text_pooled")
            t = t + (0.0 if pooled is None else self.clip_text_pooled_proj(pooled).squeeze(-1))
        main = tokens.shape[1] - parts["image"][-1][0].shape[1]
        out = self.core(tokens, table.to(x.device), t, transformer_options=transformer_options)
        out = out[:, main:main + (x.shape[-2] // p) * (x.shape[-1] // p)]
        return -unpatchify(self.core.out(out), p, c, h, w)


class NextDiTPixelSpace(NextDiT):
    """The pixel-space Z-Image: the same ids and chain, patches of RGB pixels; returns ``(x - out) / t``."""

    def forward(self, x, timesteps, context, num_tokens, attention_mask=None, **kwargs):
        neg_x0 = super().forward(x, timesteps, context, num_tokens, attention_mask, **kwargs)
        return (x - neg_x0) / timesteps.view(-1, 1, 1, 1)
