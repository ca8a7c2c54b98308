"""Helpers shared by the family tests: a tiny stand-in model as a ModelPatcher, sampling, a record of
every diffusion-model forward and its embedder calls, and image ids built from a token grid."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from comfy.model_base import ModelConfig
from comfy.model_patcher import ModelPatcher
from comfy.patcher_extension import WrappersMP
from comfy.sample import sample as host_sample


def tiny_patcher(model_cls: type, model_type, latent_format, sampling: dict, unet: dict, *, seed: int = 0,
                 dtype: torch.dtype = torch.float32) -> ModelPatcher:
    """A ModelPatcher around ``model_cls`` (a BaseModel) with deterministic random weights from ``seed``."""
    model = model_cls(ModelConfig(dict(unet), latent_format, dict(sampling)), model_type, device=torch.device("cpu"))
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, param in sorted(model.diffusion_model.named_parameters()):
            scale = param.shape[-1] ** -0.5 if param.ndim > 1 else 0.02
            param.copy_(torch.randn(param.shape, generator=gen) * scale)
    model.diffusion_model.to(dtype)
    model.diffusion_model.dtype = dtype
    return ModelPatcher(model, load_device=torch.device("cpu"), offload_device=torch.device("cpu"))


def sample(model: ModelPatcher, latent: torch.Tensor, positive: list, negative: list, *, steps: int = 2,
           cfg: float = 2.0) -> torch.Tensor:
    """``comfy.sample.sample`` with euler / simple and fixed noise."""
    noise = torch.randn(latent.shape, generator=torch.Generator().manual_seed(42))
    return host_sample(model, noise, steps, cfg, "euler", "simple", positive, negative, latent,
                       disable_pbar=True, seed=42)


@dataclass
class Forward:
    """One diffusion-model forward: the step's sigma, the tokens of its ``context`` argument (the third
    positional one, when it is a ``[B, L, C]`` tensor), how many ``ref_latents`` it got as a keyword, and
    its embedder calls ``(ids, table)`` in order."""

    sigma: float
    text: int | None
    refs: int
    calls: list[tuple[torch.Tensor, torch.Tensor]] = field(default_factory=list)


def record_forwards(model: ModelPatcher, embedder: str) -> list[Forward]:
    """Every forward of ``model`` (a patched clone) with the calls of its embedder at path ``embedder``."""
    forwards: list[Forward] = []

    def probe(executor, *args, **kwargs):
        options = kwargs["transformer_options"] if "transformer_options" in kwargs else args[-1]
        context = args[2] if len(args) > 2 else None
        text = context.shape[1] if torch.is_tensor(context) and context.ndim == 3 else None
        forwards.append(Forward(float(options["sigmas"].max()), text, len(kwargs.get("ref_latents") or ())))
        return executor(*args, **kwargs)

    model.add_wrapper_with_key(WrappersMP.DIFFUSION_MODEL, "record", probe)
    model.get_model_object(embedder).register_forward_hook(
        lambda module, args, out: forwards[-1].calls.append((args[0].clone(), out.clone())))
    return forwards


def grid_ids(frames: int, rows: int, cols: int, origin: tuple[int, int], batch: int = 1) -> torch.Tensor:
    """Exact float32 ids ``[batch, frames*rows*cols, 3]`` of a token grid: ``(frame, row0 + r, col0 + c)``."""
    ids = torch.zeros(frames, rows, cols, 3)
    ids[..., 0] = torch.arange(frames, dtype=torch.float32)[:, None, None]
    ids[..., 1] = torch.arange(origin[0], origin[0] + rows, dtype=torch.float32)[:, None]
    ids[..., 2] = torch.arange(origin[1], origin[1] + cols, dtype=torch.float32)
    return ids.reshape(1, -1, 3).expand(batch, -1, -1).clone()


def spliced(table: torch.Tensor, part: torch.Tensor, token_axis: int, start: int) -> torch.Tensor:
    """A copy of ``table`` with ``part`` written over its tokens from ``start`` along ``token_axis``."""
    out = table.clone()
    out.narrow(token_axis, start, part.shape[token_axis]).copy_(part)
    return out
