# ruff: noqa: B006  (mutable defaults mirror the host signatures)
"""Tiny JoyImage DiT (``comfy.ldm.joyimage.model``, ComfyUI 0.29): its table is made by a method of the model.

Reproduced from the host: ``forward(hidden_states, timestep, context, ref_latents, control,
transformer_options, **kwargs)`` copies ``transformer_options`` and runs the DIFFUSION_MODEL wrapper chain with
``(hidden_states, timestep, context, ref_latents, transformer_options)``. 5-D latents, patch ``(1, 2, 2)``
(padded up). ``get_rotary_pos_embed_for_components([(t, h, w), ...], device)`` builds, per component (the
target, then each reference), float32 angles of positions ``(t_offset + t, r, c)`` (rows and columns from 0,
frames after the previous component's) with ``1 / theta ** (arange(0, d, 2) / d)`` per axis of
``rope_dim_list``, and returns ``[1, N, 1, P, 2, 2]``. Text tokens are not rotated. The output keeps the target.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ...patcher_extension import WrapperExecutor, WrappersMP, get_all_wrappers
from ..tiny import TinyCore, patchify_frames, unpatchify_frames


class JoyImageTransformer3DModel(nn.Module):
    def __init__(self, patch_size=[1, 2, 2], in_channels=16, out_channels=None, hidden_size=128, text_dim=32,
                 rope_dim_list=[16, 56, 56], theta=256, image_model=None, dtype=None, device=None, operations=None,
                 **kwargs):
        super().__init__()
        self.dtype, self.patch_size, self.out_channels = dtype, list(patch_size), out_channels or in_channels
        self.rope_dim_list, self.theta = list(rope_dim_list), theta
        self.core = TinyCore(in_channels * math.prod(patch_size), sum(rope_dim_list), text_dim, device=device)

    def _get_rotary_pos_embed_for_range(self, start, stop, device=None):
        grids = [torch.arange(start[i], stop[i], dtype=torch.float32, device=device) for i in range(3)]
        mesh = torch.stack(torch.meshgrid(*grids, indexing="ij"), dim=0)
        angles = []
        for i, dim in enumerate(self.rope_dim_list):
            exponents = torch.arange(0, dim, 2, dtype=torch.float32, device=device)[: dim // 2] / dim
            angles.append(torch.outer(mesh[i].reshape(-1), 1.0 / (self.theta ** exponents)))
        angles = torch.cat(angles, dim=1)
        return torch.stack((angles.cos(), -angles.sin(), angles.sin(), angles.cos()), dim=-1).unflatten(-1, (2, 2))

    def get_rotary_pos_embed_for_components(self, component_sizes, device=None):
        parts, t_offset = [], 0
        for t, h, w in component_sizes:
            parts.append(self._get_rotary_pos_embed_for_range((t_offset, 0, 0), (t_offset + t, h, w), device=device))
            t_offset += t
        return torch.cat(parts, dim=0).unsqueeze(0).unsqueeze(2)

    def forward(self, hidden_states, timestep, context=None, ref_latents=None, control=None,
                transformer_options=None, **kwargs):
        transformer_options = {} if transformer_options is None else transformer_options.copy()
        wrappers = get_all_wrappers(WrappersMP.DIFFUSION_MODEL, transformer_options)
        return WrapperExecutor.new_class_executor(self._forward, self, wrappers).execute(
            hidden_states, timestep, context, ref_latents, transformer_options, **kwargs)

    def _forward(self, hidden_states, timestep, context, ref_latents=None, transformer_options=None, **kwargs):
        pt, ph, pw = self.patch_size
        sizes, tokens = [], []
        for component in [hidden_states, *(ref_latents or [])]:
            component = nn.functional.pad(component, (0, (-component.shape[-1]) % pw, 0, (-component.shape[-2]) % ph))
            sizes.append((component.shape[2] // pt, component.shape[3] // ph, component.shape[4] // pw))
            tokens.append(self.core.img_in(patchify_frames(component, pw)))
        pe = self.get_rotary_pos_embed_for_components(sizes, device=hidden_states.device)
        text = self.core.txt_in(context).mean(dim=1, keepdim=True)
        out = self.core(torch.cat(tokens, dim=1) + text, pe, timestep.flatten() / 1000,
                        transformer_options=transformer_options or {})
        target = math.prod(sizes[0])
        return unpatchify_frames(self.core.out(out[:, :target]), pw, self.out_channels, hidden_states.shape)
