# ruff: noqa: B006  (mutable defaults mirror the host signatures)
"""Tiny FLUX.1 / Flux.2 DiT with the host's id construction (``comfy.ldm.flux.model``).

Reproduced exactly from the host: the DIFFUSION_MODEL wrapper call in ``forward`` (positional args
``x, timestep, context, y, guidance, ref_latents, control, transformer_options`` + kwargs,
``class_obj`` = this module); ``process_img`` (patchify, token grid ``(H + ps//2) // ps``, float32
ids ``(index, row, col)`` with ``rope_options`` scale/shift); reference-latent placement for
``ref_latents_method`` "offset"/"index"/"uxo"; text ids (zeros, ``arange`` on ``txt_ids_dims``);
``post_input`` patches; ``pe = self.pe_embedder(cat(txt_ids, img_ids))`` once per call.
The network body is small and independent of the real weights layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...patcher_extension import WrapperExecutor, WrappersMP, get_all_wrappers
from .layers import DoubleStreamBlock, EmbedND, LastLayer, MLPEmbedder, SingleStreamBlock, timestep_embedding


@dataclass
class FluxParams:
    in_channels: int
    out_channels: int
    vec_in_dim: int | None
    context_in_dim: int
    hidden_size: int
    mlp_ratio: float
    num_heads: int
    depth: int
    depth_single_blocks: int
    axes_dim: list
    theta: int
    patch_size: int
    qkv_bias: bool
    guidance_embed: bool
    txt_ids_dims: list
    default_ref_method: str = "offset"
    ref_index_scale: float = 1.0


def pad_to_patch_size(img: Tensor, patch_size=(2, 2)) -> Tensor:
    """Circular right/bottom padding up to a multiple of the patch size (host: ``common_dit``)."""
    pad_h, pad_w = (-img.shape[-2]) % patch_size[0], (-img.shape[-1]) % patch_size[1]
    return F.pad(img, (0, pad_w, 0, pad_h), mode="circular") if pad_h or pad_w else img


def patchify(x: Tensor, ps: int) -> Tensor:
    """``b c (h ph) (w pw) -> b (h w) (c ph pw)``."""
    b, c, h, w = x.shape
    return x.reshape(b, c, h // ps, ps, w // ps, ps).permute(0, 2, 4, 1, 3, 5).reshape(b, -1, c * ps * ps)


def unpatchify(x: Tensor, h: int, w: int, ps: int) -> Tensor:
    """``b (h w) (c ph pw) -> b c (h ph) (w pw)``."""
    b = x.shape[0]
    return x.reshape(b, h, w, -1, ps, ps).permute(0, 3, 1, 4, 2, 5).reshape(b, -1, h * ps, w * ps)


class Flux(nn.Module):
    def __init__(self, image_model=None, final_layer=True, dtype=None, device=None, operations=None, **kwargs):
        super().__init__()
        self.dtype = dtype
        self.params = p = FluxParams(**kwargs)
        self.patch_size = p.patch_size
        self.in_channels = p.in_channels * p.patch_size**2
        self.out_channels = p.out_channels * p.patch_size**2
        pe_dim = p.hidden_size // p.num_heads
        if sum(p.axes_dim) != pe_dim:
            raise ValueError(f"Got {p.axes_dim} but expected positional dim {pe_dim}")
        self.hidden_size, self.num_heads = p.hidden_size, p.num_heads
        self.pe_embedder = EmbedND(dim=pe_dim, theta=p.theta, axes_dim=p.axes_dim)
        self.img_in = nn.Linear(self.in_channels, p.hidden_size)
        self.time_in = MLPEmbedder(256, p.hidden_size)
        self.vector_in = MLPEmbedder(p.vec_in_dim, p.hidden_size) if p.vec_in_dim else None
        self.guidance_in = MLPEmbedder(256, p.hidden_size) if p.guidance_embed else nn.Identity()
        self.txt_in = nn.Linear(p.context_in_dim, p.hidden_size)
        self.double_blocks = nn.ModuleList(
            DoubleStreamBlock(p.hidden_size, p.num_heads, p.mlp_ratio, p.qkv_bias) for _ in range(p.depth))
        self.single_blocks = nn.ModuleList(
            SingleStreamBlock(p.hidden_size, p.num_heads, p.mlp_ratio) for _ in range(p.depth_single_blocks))
        self.final_layer = LastLayer(p.hidden_size, 1, self.out_channels)
        if dtype is not None or device is not None:
            self.to(device=device, dtype=dtype)

    def _vec(self, img: Tensor, timesteps: Tensor, y: Tensor, guidance: Tensor) -> Tensor:
        vec = self.time_in(timestep_embedding(timesteps, 256).to(img.dtype))
        if self.params.guidance_embed and guidance is not None:
            vec = vec + self.guidance_in(timestep_embedding(guidance, 256).to(img.dtype))
        if self.vector_in is not None:
            if y is None:
                y = torch.zeros((img.shape[0], self.params.vec_in_dim), device=img.device, dtype=img.dtype)
            vec = vec + self.vector_in(y[:, : self.params.vec_in_dim])
        return vec

    def _blocks(self, img, txt, vec, pe, attn_mask, transformer_options):
        to = dict(transformer_options)
        to.update(total_blocks=len(self.double_blocks), block_type="double")
        for i, block in enumerate(self.double_blocks):
            to["block_index"] = i
            img, txt = block(img=img, txt=txt, vec=vec, pe=pe, attn_mask=attn_mask, transformer_options=to)
        img = torch.cat((txt, img), 1)
        to.update(total_blocks=len(self.single_blocks), block_type="single", img_slice=[txt.shape[1], img.shape[1]])
        for i, block in enumerate(self.single_blocks):
            to["block_index"] = i
            img = block(img, vec=vec, pe=pe, attn_mask=attn_mask, transformer_options=to)
        return self.final_layer(img[:, txt.shape[1]:], vec)

    def forward_orig(self, img, img_ids, txt, txt_ids, timesteps, y, guidance=None, control=None,
                     timestep_zero_index=None, transformer_options={}, attn_mask=None) -> Tensor:
        transformer_options = dict(transformer_options)
        img = self.img_in(img)
        vec = self._vec(img, timesteps, y, guidance)
        txt = self.txt_in(txt)
        for patch in transformer_options.get("patches", {}).get("post_input", []):
            out = patch({"img": img, "txt": txt, "img_ids": img_ids, "txt_ids": txt_ids,
                         "transformer_options": transformer_options})
            img, txt, img_ids, txt_ids = out["img"], out["txt"], out["img_ids"], out["txt_ids"]
        pe = self.pe_embedder(torch.cat((txt_ids, img_ids), dim=1)) if img_ids is not None else None
        return self._blocks(img, txt, vec, pe, attn_mask, transformer_options)

    def process_img(self, x, index=0, h_offset=0, w_offset=0, transformer_options={}):
        bs, _, h, w = x.shape
        ps = self.patch_size
        img = patchify(pad_to_patch_size(x, (ps, ps)), ps)
        h_len, w_len = (h + ps // 2) // ps, (w + ps // 2) // ps
        h_offset, w_offset = (h_offset + ps // 2) // ps, (w_offset + ps // 2) // ps
        steps_h, steps_w = h_len, w_len
        rope_options = transformer_options.get("rope_options", None)
        if rope_options is not None:
            h_len = (h_len - 1.0) * rope_options.get("scale_y", 1.0) + 1.0
            w_len = (w_len - 1.0) * rope_options.get("scale_x", 1.0) + 1.0
            index += rope_options.get("shift_t", 0.0)
            h_offset += rope_options.get("shift_y", 0.0)
            w_offset += rope_options.get("shift_x", 0.0)
        f32 = dict(device=x.device, dtype=torch.float32)
        ids = torch.zeros((steps_h, steps_w, len(self.params.axes_dim)), **f32)
        ids[:, :, 0] += index
        ids[:, :, 1] += torch.linspace(h_offset, h_len - 1 + h_offset, steps=steps_h, **f32).unsqueeze(1)
        ids[:, :, 2] += torch.linspace(w_offset, w_len - 1 + w_offset, steps=steps_w, **f32).unsqueeze(0)
        return img, ids.reshape(1, steps_h * steps_w, -1).repeat(bs, 1, 1)

    def forward(self, x, timestep, context, y=None, guidance=None, ref_latents=None, control=None,
                transformer_options={}, **kwargs):
        wrappers = get_all_wrappers(WrappersMP.DIFFUSION_MODEL, transformer_options)
        return WrapperExecutor.new_class_executor(self._forward, self, wrappers).execute(
            x, timestep, context, y, guidance, ref_latents, control, transformer_options, **kwargs)

    def _place_refs(self, img, img_ids, ref_latents, h_len, w_len, method, transformer_options):
        """Append reference latents after the image tokens, positioned per ``ref_latents_method``."""
        ps, h, w, index, counts = self.patch_size, 0, 0, 0, []
        if method == "index_timestep_zero":
            raise NotImplementedError("stand-in: ref_latents_method 'index_timestep_zero' is not reproduced")
        for ref in ref_latents:
            rh, rw = ref.shape[-2], ref.shape[-1]
            if method == "index":
                index, h_off, w_off = index + self.params.ref_index_scale, 0, 0
            elif method == "uxo":
                index, h_off, w_off = 0, h_len * ps + h, w_len * ps + w
                h, w = h + rh, w + rw
            else:  # "offset": index 1, tiled beside the previous references
                index, h_off, w_off = 1, 0, 0
                if rh + h > rw + w:
                    w_off = w
                else:
                    h_off = h
                h, w = max(h, rh + h_off), max(w, rw + w_off)
            tokens, ids = self.process_img(ref, index=index, h_offset=h_off, w_offset=w_off,
                                           transformer_options=transformer_options)
            img, img_ids = torch.cat([img, tokens], dim=1), torch.cat([img_ids, ids], dim=1)
            counts.append(tokens.shape[1])
        return img, img_ids, dict(transformer_options, reference_image_num_tokens=counts)

    def _forward(self, x, timestep, context, y=None, guidance=None, ref_latents=None, control=None,
                 transformer_options={}, **kwargs):
        bs, _, h_orig, w_orig = x.shape
        ps = self.patch_size
        h_len, w_len = (h_orig + ps // 2) // ps, (w_orig + ps // 2) // ps
        img, img_ids = self.process_img(x, transformer_options=transformer_options)
        img_tokens = img.shape[1]
        if ref_latents is not None:
            method = kwargs.get("ref_latents_method", self.params.default_ref_method)
            img, img_ids, transformer_options = self._place_refs(img, img_ids, ref_latents, h_len, w_len, method,
                                                                 transformer_options)
        txt_len = context.shape[1]
        txt_ids = torch.zeros((bs, txt_len, len(self.params.axes_dim)), device=x.device, dtype=torch.float32)
        for i in self.params.txt_ids_dims:
            txt_ids[:, :, i] = torch.linspace(0, txt_len - 1, steps=txt_len, device=x.device, dtype=torch.float32)
        out = self.forward_orig(img, img_ids, context, txt_ids, timestep, y, guidance, control,
                                transformer_options=transformer_options, attn_mask=kwargs.get("attention_mask"))
        return unpatchify(out[:, :img_tokens], h_len, w_len, ps)[:, :, :h_orig, :w_orig]
