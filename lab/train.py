"""Rectified-flow training of the lab DiT, bit-reproducible on the CPU.

Loss (FLUX / SD3 rectified flow): ``E || v_theta(x_t, t) - (noise - x0) ||^2`` with
``x_t = (1 - t) x0 + t noise`` and ``t = sigmoid(n)``, ``n ~ N(0, 1)`` (logit-normal times).
Canvases cycle through ``sizes`` (up to the base size, as FLUX trains on several resolutions
up to its largest), so the model sees varying token counts but never a position beyond the
base grid. Every step draws fresh images from ``lab.data`` (seeds ``TRAIN_SEED0 + step * batch + i``,
disjoint from the evaluation seeds) and its noise from a generator seeded by the step, so
the run depends only on the configuration, the thread count and torch's deterministic
kernels. The saved weights are an exponential moving average ``e <- d e + (1 - d) w`` with the usual
warm-up ``d = min(ema, (1 + step) / (10 + step))``, so the random start fades out early.
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from . import data
from . import rope as lab_rope
from .model import DiT, ModelConfig

#: First image seed used for training; evaluation uses seeds below it.
TRAIN_SEED0 = 10_000_000


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings; ``threads`` is part of the recipe (results depend on it). Step
    ``i`` trains on canvases of ``sizes[i % len(sizes)]`` pixels."""

    steps: int = 6500
    batch: int = 32
    lr: float = 1e-3
    warmup: int = 200
    ema: float = 0.999
    clip: float = 1.0
    seed: int = 0
    threads: int = 1
    sizes: tuple[int, ...] = (16, 24, 32)
    model: ModelConfig = field(default_factory=ModelConfig)

    def __post_init__(self) -> None:
        if max(self.sizes) != self.model.image_size or any(s % self.model.patch for s in self.sizes):
            raise ValueError(f"training sizes {self.sizes} must be multiples of the patch {self.model.patch} "
                             f"and top out at the base size {self.model.image_size}")


@contextmanager
def deterministic(threads: int) -> Iterator[None]:
    """Fixed thread count and deterministic kernels (the conditions the weights are reproduced
    under) for the duration of the block; the previous settings are restored afterwards."""
    old_threads, old_flag = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(old_threads)
        torch.use_deterministic_algorithms(old_flag)


def lr_at(step: int, config: TrainConfig) -> float:
    """Linear warm-up to ``lr``, then constant."""
    return config.lr * min(1.0, (step + 1) / config.warmup)


def train(
    config: TrainConfig,
    log_every: int = 50,
    log: Path | None = None,
    checkpoint: Path | None = None,
) -> tuple[DiT, list[float]]:
    """Train a DiT from scratch; returns the EMA model and the per-step losses. With
    ``checkpoint``, the EMA weights are also written there at every log line."""
    with deterministic(config.threads):
        return _train(config, log_every, log, checkpoint)


def _train(config: TrainConfig, log_every: int, log: Path | None, checkpoint: Path | None) -> tuple[DiT, list[float]]:
    """The training loop of ``train``."""
    torch.manual_seed(config.seed)
    model = DiT(config.model)
    ema = copy.deepcopy(model).requires_grad_(False)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=(0.9, 0.99), weight_decay=0.0)
    layout, patch = config.model.layout(), config.model.patch
    tables = {size: lab_rope.table(layout, size // patch, size // patch, None, 1.0) for size in config.sizes}
    losses: list[float] = []
    start = time.perf_counter()
    for step in range(config.steps):
        first = TRAIN_SEED0 + step * config.batch
        size = config.sizes[step % len(config.sizes)]
        x0 = data.batch(range(first, first + config.batch), size)
        gen = torch.Generator().manual_seed(config.seed * 1_000_003 + step)
        noise = torch.randn(x0.shape, generator=gen)
        t = torch.sigmoid(torch.randn(config.batch, generator=gen))
        tb = t[:, None, None, None]
        x_t = (1 - tb) * x0 + tb * noise
        prompt = data.conditions(range(first, first + config.batch))
        loss = torch.mean((model(x_t, t, prompt, tables[size]) - (noise - x0)) ** 2)
        for group in opt.param_groups:
            group["lr"] = lr_at(step, config)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        opt.step()
        decay = min(config.ema, (1 + step) / (10 + step))
        with torch.no_grad():
            for e, w in zip(ema.parameters(), model.parameters()):
                e.lerp_(w, 1.0 - decay)
        losses.append(loss.item())
        if log_every and (step % log_every == 0 or step == config.steps - 1):
            recent = sum(losses[-log_every:]) / len(losses[-log_every:])
            line = f"step {step:5d} loss {recent:.4f} elapsed {time.perf_counter() - start:7.1f}s"
            print(line, flush=True)
            if log is not None:
                with log.open("a") as fh:
                    fh.write(line + "\n")
            if checkpoint is not None:
                save(ema, config, checkpoint)
    return ema, losses


def save(model: DiT, config: TrainConfig, path: Path) -> str:
    """Write the weights as safetensors with the configuration and recipe in the header, as one
    sorted JSON string (nothing run-dependent, so a reproduction is byte-identical); returns the
    tensors' ``tensor_hash``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(tensors, str(path), metadata={"lab": json.dumps(asdict(config), sort_keys=True)})
    return tensor_hash(tensors)


def file_hash(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tensor_hash(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over every tensor's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        value = tensors[name].contiguous()
        digest.update(f"{name}|{value.dtype}|{tuple(value.shape)}|".encode())
        digest.update(value.numpy().tobytes())
    return digest.hexdigest()


def load(path: Path) -> tuple[DiT, dict[str, object]]:
    """The model saved at ``path`` (eval mode) and its training recipe (``asdict(TrainConfig)``)."""
    with safe_open(str(path), framework="pt") as fh:
        recipe = json.loads(fh.metadata()["lab"])
    model = DiT(ModelConfig.from_dict(recipe["model"]))
    model.load_state_dict(load_file(str(path)))
    return model.eval(), recipe
