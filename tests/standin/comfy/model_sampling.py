"""Flow-matching sampling objects of ``comfy.model_sampling``.

``ModelSamplingFlux`` maps timestep t in (0, 1] to sigma with ``flux_time_shift(mu, 1, t)``;
``shift`` holds mu. The Flux timestep fed to the network *is* sigma. ``ModelSamplingDiscreteFlow``
(ModelType.FLOW: Lumina, Z-Image, HiDream, Wan, Hunyuan...) maps t to ``shift t / (1 + (shift - 1) t)``
and feeds the network ``sigma * multiplier``. ``ModelSamplingCosmosRFlow`` (ModelType.FLOW_COSMOS, Cosmos
Predict2) keeps EDM sigmas log-spaced in ``[sigma_min, sigma_max]`` (0.002..80) and feeds the network the
flow time ``sigma / (sigma + 1)``; its ``COSMOS_RFLOW`` parameterisation scales the input by ``1 - t``.
``CONST`` is the rectified-flow parameterisation: x_t = sigma * noise + (1 - sigma) * x0, denoised = x_t - sigma * v.
``ModelSamplingDiscrete`` (ModelType.EPS, the SD models' and what ComfyUI's ``ModelSamplingDiscrete`` node
installs) has no shift: sigmas ``sqrt((1 - a) / a)`` of a scaled-linear beta schedule (0.00085 to 0.012, 1000
steps), about 0.03 to 14.6.
"""

from __future__ import annotations

import math

import torch


def flux_time_shift(mu: float, sigma: float, t):
    return math.exp(mu) / (math.exp(mu) + (1 / t - 1) ** sigma)


def _per_sample(sigma, ndim):
    return sigma.view(()) if sigma.nelement() == 1 else sigma.view(sigma.shape[:1] + (1,) * (ndim - 1))


class CONST:
    def calculate_input(self, sigma, noise):
        return noise

    def calculate_denoised(self, sigma, model_output, model_input):
        return model_input - model_output * _per_sample(sigma, model_output.ndim)

    def noise_scaling(self, sigma, noise, latent_image, max_denoise=False):
        sigma = _per_sample(sigma, noise.ndim)
        return sigma * (getattr(self, "noise_scale", 1.0) * noise) + (1.0 - sigma) * latent_image

    def inverse_noise_scaling(self, sigma, latent):
        return latent / (1.0 - _per_sample(sigma, latent.ndim))


class _SigmaTable(torch.nn.Module):
    """A sampling object's ``sigmas`` buffer, lowest first, and its ends."""

    @property
    def sigma_min(self):
        return self.sigmas[0]

    @property
    def sigma_max(self):
        return self.sigmas[-1]


class ModelSamplingFlux(_SigmaTable):
    def __init__(self, model_config=None):
        super().__init__()
        settings = model_config.sampling_settings if model_config is not None else {}
        self.set_parameters(shift=settings.get("shift", 1.15))

    def set_parameters(self, shift=1.15, timesteps=10000):
        self.shift = shift
        self.register_buffer("sigmas", self.sigma(torch.arange(1, timesteps + 1, 1) / timesteps))

    def timestep(self, sigma):
        return sigma

    def sigma(self, timestep):
        return flux_time_shift(self.shift, 1.0, timestep)

    def percent_to_sigma(self, percent):
        if percent <= 0.0:
            return 1.0
        if percent >= 1.0:
            return 0.0
        return flux_time_shift(self.shift, 1.0, 1.0 - percent)


class ModelSamplingDiscreteFlow(_SigmaTable):
    def __init__(self, model_config=None):
        super().__init__()
        settings = model_config.sampling_settings if model_config is not None else {}
        self.set_parameters(shift=settings.get("shift", 1.0), multiplier=settings.get("multiplier", 1000))

    def set_parameters(self, shift=1.0, timesteps=1000, multiplier=1000):
        self.shift, self.multiplier = shift, multiplier
        self.register_buffer("sigmas", self.sigma(torch.arange(1, timesteps + 1, 1) / timesteps * multiplier))

    def timestep(self, sigma):
        return sigma * self.multiplier

    def sigma(self, timestep):
        t = timestep / self.multiplier
        return self.shift * t / (1 + (self.shift - 1) * t)

    def percent_to_sigma(self, percent):
        if percent <= 0.0:
            return 1.0
        if percent >= 1.0:
            return 0.0
        return self.sigma(torch.tensor((1.0 - percent) * self.multiplier)).item()


class ModelSamplingDiscrete(_SigmaTable):
    def __init__(self, model_config=None):
        super().__init__()
        betas = torch.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=torch.float64) ** 2
        alphas = torch.cumprod(1.0 - betas, dim=0)
        self.register_buffer("sigmas", ((1 - alphas) / alphas).sqrt().float())

    def timestep(self, sigma):
        return (self.sigmas - sigma).abs().argmin().float()

    def sigma(self, timestep):
        return self.sigmas[timestep.round().long().clamp(0, 999)]

    def percent_to_sigma(self, percent):
        if percent <= 0.0:
            return 999999999.9
        if percent >= 1.0:
            return 0.0
        return float(self.sigma(torch.tensor(999.0 * (1.0 - percent))))


class COSMOS_RFLOW:
    def calculate_input(self, sigma, noise):
        return noise * (1.0 - _per_sample(sigma / (sigma + 1), noise.ndim))

    def calculate_denoised(self, sigma, model_output, model_input):
        t = _per_sample(sigma / (sigma + 1), model_output.ndim)
        return model_input * (1.0 - t) - model_output * t

    def noise_scaling(self, sigma, noise, latent_image, max_denoise=False):
        return noise * _per_sample(sigma, noise.ndim) + latent_image

    def inverse_noise_scaling(self, sigma, latent):
        return latent


class ModelSamplingCosmosRFlow(_SigmaTable):
    def __init__(self, model_config=None):
        super().__init__()
        settings = model_config.sampling_settings if model_config is not None else {}
        low, high = math.log(settings.get("sigma_min", 0.002)), math.log(settings.get("sigma_max", 80.0))
        self.register_buffer("sigmas", torch.linspace(low, high, 1000).exp())

    def timestep(self, sigma):
        return sigma / (sigma + 1)

    def sigma(self, timestep):
        return torch.clamp(timestep / (1 - timestep), max=float(self.sigma_max))

    def percent_to_sigma(self, percent):
        if percent <= 0.0:
            return float(self.sigma_max)
        if percent >= 1.0:
            return 0.0
        return float(self.sigma(torch.tensor(1.0 - percent)))


def model_sampling(model_config, model_type=None):
    """Build the combined sampling class the way ``model_base.model_sampling`` does: FLUX-shifted for
    ModelType.FLUX, discrete flow for ModelType.FLOW (both with the CONST parameterisation), Cosmos's
    rectified flow for ModelType.FLOW_COSMOS."""
    name = getattr(model_type, "name", "FLUX")
    base = {"FLOW": ModelSamplingDiscreteFlow, "FLOW_COSMOS": ModelSamplingCosmosRFlow}.get(name, ModelSamplingFlux)
    parameterisation = COSMOS_RFLOW if name == "FLOW_COSMOS" else CONST

    class ModelSampling(base, parameterisation):
        pass

    return ModelSampling(model_config)
