"""``comfy.sample``: noise preparation and the ``sample`` entry point used by KSampler nodes."""

from __future__ import annotations

import torch

from . import model_management, samplers


def prepare_noise(latent_image, seed, noise_inds=None):
    generator = torch.manual_seed(seed)
    noise = torch.randn(latent_image.size(), dtype=torch.float32, generator=generator, device="cpu")
    return noise.to(latent_image.dtype)


def sample(model, noise, steps, cfg, sampler_name, scheduler, positive, negative, latent_image, denoise=1.0,
           disable_noise=False, start_step=None, last_step=None, force_full_denoise=False, noise_mask=None, sigmas=None,
           callback=None, disable_pbar=False, seed=None):
    sampler = samplers.KSampler(model, steps=steps, device=model.load_device, sampler=sampler_name, scheduler=scheduler,
                                denoise=denoise, model_options=model.model_options)
    samples = sampler.sample(noise, positive, negative, cfg=cfg, latent_image=latent_image, start_step=start_step,
                             last_step=last_step, force_full_denoise=force_full_denoise, denoise_mask=noise_mask,
                             sigmas=sigmas, callback=callback, disable_pbar=disable_pbar, seed=seed)
    return samples.to(device=model_management.intermediate_device(), dtype=model_management.intermediate_dtype())


def sample_custom(model, noise, cfg, sampler, sigmas, positive, negative, latent_image, noise_mask=None, callback=None,
                  disable_pbar=False, seed=None):
    samples = samplers.sample(model, noise, positive, negative, cfg, model.load_device, sampler, sigmas,
                              model_options=model.model_options, latent_image=latent_image, denoise_mask=noise_mask,
                              callback=callback, disable_pbar=disable_pbar, seed=seed)
    return samples.to(device=model_management.intermediate_device(), dtype=model_management.intermediate_dtype())
