# ruff: noqa: B006  (mutable defaults mirror the host signatures)
"""Tiny Qwen-Image 2.1 DiT (``comfy.ldm.qwen_image21.model``, ComfyUI 0.37), reproduced from its stored source.

- ``forward(x, timestep, context, ref_latents, image_slots, transformer_options, **kwargs)`` runs the
  DIFFUSION_MODEL wrapper chain with these six positional arguments; ``timestep`` is the sigma.
- One latent pixel is one token (64 channels, no patchify). ``build_sequence`` splits the text at
  ``image_slots`` and puts each reference at its slot (default: after the text), the target last. One
  running position ``p``: a text token is ``(p, p, p)``; an image ``(p, r - ceil(h / 2), c - ceil(w / 2))``
  (a reference whose side parity differs from the target's half a token over), then ``p += max(h, w)``. All
  float32, batch 1.
- ``pe_embedder(ids)`` once per forward over the whole sequence, transposed to ``[1, N, 1, P, 2, 2]``.
- ``post_input`` patches get ``{"img", "pe", "transformer_options"}`` and may return a new ``pe``;
  ``attn1_patch`` gets ``pe`` as ``[1, 1, N, P, 2, 2]`` (the unfused path).
- The prefix cache: text and references are modulated at t = 0, so their keys and values (after RoPE) do not
  change over a run. With the cache on (set per run through ``reset_prefix_cache``; off under ``post_input``,
  ``single_block`` or ``attn1_patch`` patches, ``dit`` replacements, or ``qwen_image21_cache`` device
  ``"off"``), the first call per prefix stores them and later calls run the target alone against the stored
  ones. The embedder still embeds the whole sequence on cached calls.

The body is one attention (``TinyCore``'s projections): the prefix attends the prefix, the target everything.
"""

from __future__ import annotations

import torch
from torch import nn

from ...patcher_extension import WrapperExecutor, WrappersMP, get_all_wrappers
from ..flux.layers import EmbedND
from ..modules.attention import optimized_attention
from ..tiny import TinyCore, rotate


def _centred(n: int, target: int) -> torch.Tensor:
    return torch.arange(n, dtype=torch.float32) - (n - n // 2) + 0.5 * (n % 2 - target % 2)


class QwenImage21Transformer2DModel(nn.Module):
    def __init__(self, in_channels=64, out_channels=64, context_in_dim=32, attention_head_dim=128,
                 axes_dims_rope=(16, 56, 56), image_model=None, dtype=None, device=None, operations=None, **kwargs):
        super().__init__()
        self.dtype, self.out_channels = dtype, out_channels
        self.pe_embedder = EmbedND(dim=attention_head_dim, theta=10000, axes_dim=list(axes_dims_rope))
        self.core = TinyCore(in_channels, attention_head_dim, context_in_dim, device=device, dtype=dtype)
        self.prefix_cache: dict | None = None
        self.prefix_cache_enabled = False
        self.prefix_cache_hits = 0  # not the host's: lets a test see that cached calls happened

    def reset_prefix_cache(self, enabled: bool) -> None:
        self.prefix_cache, self.prefix_cache_enabled = {}, enabled

    def build_sequence(self, x, context, ref_latents, image_slots):
        refs = list(ref_latents or [])
        text = context.shape[1]
        slots = (list(image_slots or []) + [text] * len(refs))[:len(refs)]
        bounds = [0, *slots, text]
        parts, ids, pos = [], [], 0
        for (start, end), img in zip(zip(bounds[:-1], bounds[1:]), [*refs, x]):
            if end > start:
                parts.append(self.core.txt_in(context[:, start:end]))
                ids.append(torch.arange(pos, pos + end - start, dtype=torch.float32)[:, None].expand(-1, 3))
                pos += end - start
            h, w = img.shape[-2:]
            parts.append(self.core.img_in(img.flatten(2).transpose(1, 2).to(x)))
            rows, cols = _centred(h, x.shape[-2]), _centred(w, x.shape[-1])
            grid = torch.stack([torch.full((h, w), float(pos)), rows[:, None].expand(h, w),
                                cols[None, :].expand(h, w)], dim=-1)
            ids.append(grid.flatten(0, 1))
            pos += max(h, w)
        pe = self.pe_embedder(torch.cat(ids, dim=0).unsqueeze(0).to(x.device)).transpose(1, 2).contiguous()
        return torch.cat(parts, dim=1), pe

    def forward(self, x, timestep, context, ref_latents=None, image_slots=None, transformer_options={}, **kwargs):
        wrappers = get_all_wrappers(WrappersMP.DIFFUSION_MODEL, transformer_options)
        return WrapperExecutor.new_class_executor(self._forward, self, wrappers).execute(
            x, timestep, context, ref_latents, image_slots, transformer_options, **kwargs)

    def _forward(self, x, timestep, context, ref_latents=None, image_slots=None, transformer_options={}, **kwargs):
        b, _, h, w = x.shape
        hidden, pe = self.build_sequence(x, context, ref_latents, image_slots)
        patches = transformer_options.get("patches", {})
        for patch in patches.get("post_input", []):
            out = patch({"img": hidden, "pe": pe, "transformer_options": transformer_options})
            hidden, pe = out["img"], out.get("pe", pe)
        prefix = hidden.shape[1] - h * w
        hooked = transformer_options.get("patches_replace", {}).get("dit") or any(
            patches.get(name) for name in ("post_input", "single_block", "attn1_patch"))
        off = transformer_options.get("qwen_image21_cache", {}).get("device") == "off"
        cache = self.prefix_cache if self.prefix_cache_enabled and prefix > 0 and not (hooked or off) else None
        key = (context.shape[1], tuple(r.shape for r in ref_latents or []), (h, w), tuple(image_slots or ()),
               context.sum().item(), *(r.sum().item() for r in ref_latents or []))
        modulation = torch.zeros(b, hidden.shape[1], 1, dtype=hidden.dtype, device=hidden.device)
        modulation[:, prefix:] = timestep.reshape(-1, 1, 1).to(hidden)
        q, k, v = self.core.qkv(hidden + modulation).unsqueeze(2).chunk(3, dim=-1)
        for patch in patches.get("attn1_patch", []):
            out = patch(q, k, v, pe=pe.transpose(1, 2), attn_mask=None, extra_options=transformer_options)
            q, k, v = out.get("q", q), out.get("k", k), out.get("v", v)
            pe = out["pe"].transpose(1, 2) if "pe" in out else pe
        q, k = rotate(q.float(), pe).to(v), rotate(k.float(), pe).to(v)
        if cache is not None and key in cache:
            self.prefix_cache_hits += 1
            k = torch.cat([cache[key][0], k[:, prefix:]], dim=1)
            v = torch.cat([cache[key][1], v[:, prefix:]], dim=1)
        elif cache is not None:
            cache[key] = (k[:, :prefix], v[:, :prefix])
        attended = optimized_attention(q[:, prefix:].squeeze(2), k.squeeze(2), v.squeeze(2), 1,
                                       transformer_options=transformer_options)
        out = self.core.out(hidden[:, prefix:] + attended)
        return out.transpose(1, 2).reshape(b, self.out_channels, h, w)
