"""Models DyPE cannot patch, by the diffusion model's class, with the reason shown to users."""

from __future__ import annotations

_NUNCHAKU = (
    "Nunchaku's quantized {} computes RoPE inside its own fused kernels and does not run ComfyUI's "
    "model wrappers, so DyPE cannot reach its positions"
)

#: ``module.QualName`` or class name -> why DyPE cannot attach.
REFUSED: dict[str, str] = {
    "ComfyFluxWrapper": _NUNCHAKU.format("FLUX"),
    "ComfyFlux2Wrapper": _NUNCHAKU.format("Flux.2"),
}
