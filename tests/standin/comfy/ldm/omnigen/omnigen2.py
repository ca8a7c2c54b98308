# ruff: noqa: B006  (mutable defaults mirror the host signatures)
"""Tiny ``OmniGen2Transformer2DModel`` (``comfy.ldm.omnigen.omnigen2``) and its two-level rotary embedder.

Reproduced from the host: ``forward(x, timesteps, context, num_tokens, ref_latents=None, attention_mask=None,
transformer_options={}, **kwargs)`` runs NO wrapper chain (the host reaches it through APPLY_MODEL only);
``timesteps`` is the sigma and the model works on ``1 - timesteps``. ``rope_embedder`` is
``OmniGen2RotaryPosEmbed`` (``.theta``, ``.axes_dim``, ``.axes_lens``, ``.patch_size``) holding an inner
``EmbedND`` at ``.rope_embedder``; the outer builds int32 ids ``[B, L, 3]``: text ``(i, i, i)`` for
``i < num_tokens``, each reference ``(shift, r, c)`` with ``shift`` starting at ``num_tokens`` and growing by
``max(rows, cols)`` of that reference, then the image ``(shift, r, c)``; it calls the inner embedder ONCE,
moves the head axis and returns ``(text, references, image, full, cap_lens, seq_lens)`` tables, the text
one zero-padded to the context length. The body is ``TinyCore`` over ``cat(text, references, image)`` with
the full table; the output is negated, as the host's.
"""

from __future__ import annotations

import torch
from torch import nn

from ..flux.layers import EmbedND
from ..tiny import TinyCore, patchify, unpatchify


class OmniGen2RotaryPosEmbed(nn.Module):
    def __init__(self, theta, axes_dim, axes_lens=(300, 512, 512), patch_size=2):
        super().__init__()
        self.theta, self.axes_dim, self.axes_lens, self.patch_size = theta, axes_dim, axes_lens, patch_size
        self.rope_embedder = EmbedND(dim=sum(axes_dim), theta=theta, axes_dim=list(axes_dim))

    def forward(self, batch_size, encoder_seq_len, l_effective_cap_len, l_effective_ref_img_len, l_effective_img_len,
                ref_img_sizes, img_sizes, device):
        p = self.patch_size
        seq_lengths = [cap + sum(refs) + img for cap, refs, img in
                       zip(l_effective_cap_len, l_effective_ref_img_len, l_effective_img_len)]
        ids = torch.zeros(batch_size, max(seq_lengths), 3, dtype=torch.int32, device=device)

        def grid(size):
            rows, cols = size[0] // p, size[1] // p
            r, c = torch.meshgrid(torch.arange(rows, dtype=torch.int32, device=device),
                                  torch.arange(cols, dtype=torch.int32, device=device), indexing="ij")
            return r.flatten(), c.flatten(), max(rows, cols)

        for i, cap in enumerate(l_effective_cap_len):
            ids[i, :cap] = torch.arange(cap, dtype=torch.int32, device=device)[:, None]
            shift, start = cap, cap
            for size in ref_img_sizes[i] or []:
                r, c, extent = grid(size)
                ids[i, start:start + len(r)] = torch.stack((torch.full_like(r, shift), r, c), dim=-1)
                shift, start = shift + extent, start + len(r)
            r, c, _ = grid(img_sizes[i])
            ids[i, start:seq_lengths[i]] = torch.stack((torch.full_like(r, shift), r, c), dim=-1)
        full = self.rope_embedder(ids).movedim(1, 2)
        caps = full.new_zeros(batch_size, encoder_seq_len, *full.shape[2:])
        refs = full.new_zeros(batch_size, max(sum(r) for r in l_effective_ref_img_len), *full.shape[2:])
        imgs = full.new_zeros(batch_size, max(l_effective_img_len), *full.shape[2:])
        for i, (cap, ref, img) in enumerate(zip(l_effective_cap_len, l_effective_ref_img_len, l_effective_img_len)):
            caps[i, :cap] = full[i, :cap]
            refs[i, :sum(ref)] = full[i, cap:cap + sum(ref)]
            imgs[i, :img] = full[i, cap + sum(ref):cap + sum(ref) + img]
        return caps, refs, imgs, full, l_effective_cap_len, seq_lengths


class OmniGen2Transformer2DModel(nn.Module):
    def __init__(self, patch_size=2, in_channels=16, out_channels=None, hidden_size=120, axes_dim_rope=(40, 40, 40),
                 axes_lens=(300, 512, 512), text_feat_dim=32, image_model=None, device=None, dtype=None,
                 operations=None, **kwargs):
        super().__init__()
        self.patch_size, self.dtype = patch_size, dtype
        self.out_channels = out_channels or in_channels
        self.rope_embedder = OmniGen2RotaryPosEmbed(10000, axes_dim_rope, axes_lens, patch_size)
        self.core = TinyCore(in_channels * patch_size**2, sum(axes_dim_rope), text_feat_dim, device=device)

    def forward(self, x, timesteps, context, num_tokens, ref_latents=None, attention_mask=None,
                transformer_options={}, **kwargs):
        _, _, h, w = x.shape
        p = self.patch_size
        refs = [patchify(ref.to(x), p) for ref in ref_latents or []]
        img = patchify(x, p)
        rows, cols = -(-h // p), -(-w // p)
        ref_sizes = [(-(-r.shape[-2] // p) * p, -(-r.shape[-1] // p) * p) for r in ref_latents or []]
        batch = x.shape[0]
        _, _, _, full, _, _ = self.rope_embedder(
            batch, context.shape[1], [num_tokens] * batch, [[t.shape[1] for t in refs] or [0]] * batch,
            [rows * cols] * batch, [ref_sizes or None] * batch, [(rows * p, cols * p)] * batch, x.device)
        tokens = torch.cat([self.core.txt_in(context)] + [self.core.img_in(t) for t in refs]
                           + [self.core.img_in(img)], dim=1)
        out = self.core.out(self.core(tokens, full, 1.0 - timesteps, transformer_options=transformer_options))
        return -unpatchify(out[:, -img.shape[1]:], p, self.out_channels, h, w)
