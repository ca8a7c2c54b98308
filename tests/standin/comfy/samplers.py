# ruff: noqa: B006  (mutable defaults mirror the host signatures)
"""``comfy.samplers``: schedulers, the CFG guider, cond batching and a few k-diffusion samplers.

Call order reproduced from the host (each ``[X]`` is a wrapper chain point):
``CFGGuider.sample`` (clones model_options, merges patcher wrappers/callbacks into
``transformer_options``) -> [OUTER_SAMPLE] ``outer_sample`` -> [PREPARE_SAMPLING] load via
``model_management.load_models_gpu`` (object/weight patches applied) -> ``inner_sample`` (sets
``transformer_options["sample_sigmas"]``) -> [SAMPLER_SAMPLE] ``KSAMPLER.sample`` -> per step
[PREDICT_NOISE] -> ``sampling_function`` -> [CALC_COND_BATCH] -> ``BaseModel.apply_model``.
Batching: conds whose model conds can concatenate run in ONE forward with ``cond_or_uncond``
``[1, 0]`` (uncond rows first); otherwise one forward each. ``transformer_options["sigmas"]`` is the
step's sigma tensor ``[B_latent]`` (not repeated); cfg == 1 skips the uncond.
``cfg_function`` runs the host's ``sampler_cfg_function`` and then every ``sampler_post_cfg_function``
on the clean-image prediction, with the host's argument dicts.
Simplified: no areas/masks/hooks/controlnets/timestep ranges in conds, no pre-CFG functions;
memory is never a limit; samplers are euler and heun only.
"""

from __future__ import annotations

import math
import uuid

import torch

from . import model_management
from .patcher_extension import WrapperExecutor, WrappersMP, copy_nested_dicts, get_all_wrappers, merge_nested_dicts

# --- schedulers -------------------------------------------------------------------------------


def simple_scheduler(model_sampling, steps):
    sigmas, stride = model_sampling.sigmas, len(model_sampling.sigmas) / steps
    return torch.FloatTensor([float(sigmas[-(1 + int(i * stride))]) for i in range(steps)] + [0.0])


def normal_scheduler(model_sampling, steps, sgm=False):
    s = model_sampling
    start, end = s.timestep(s.sigma_max), s.timestep(s.sigma_min)
    append_zero = True
    if sgm:
        ts = torch.linspace(start, end, steps + 1)[:-1]
    else:
        if math.isclose(float(s.sigma(end)), 0, abs_tol=0.00001):
            steps, append_zero = steps + 1, False
        ts = torch.linspace(start, end, steps)
    return torch.FloatTensor([float(s.sigma(t)) for t in ts] + ([0.0] if append_zero else []))


def karras_scheduler(n, sigma_min, sigma_max, rho=7.0):
    ramp = torch.linspace(0, 1, n)
    lo, hi = sigma_min ** (1 / rho), sigma_max ** (1 / rho)
    return torch.cat([(hi + ramp * (lo - hi)) ** rho, torch.zeros(1)])


def exponential_scheduler(n, sigma_min, sigma_max):
    return torch.cat([torch.linspace(math.log(sigma_max), math.log(sigma_min), n).exp(), torch.zeros(1)])


def _beta_cdf(x: float, a: float, b: float) -> float:
    """Regularised incomplete beta I_x(a, b) by its continued fraction (modified Lentz)."""
    if x <= 0.0 or x >= 1.0:
        return 0.0 if x <= 0.0 else 1.0
    if x > (a + 1) / (a + b + 2):
        return 1.0 - _beta_cdf(1.0 - x, b, a)
    front = math.exp(a * math.log(x) + b * math.log1p(-x) - math.lgamma(a) - math.lgamma(b) + math.lgamma(a + b)) / a
    f, c, d = 1.0, 1.0, 0.0
    for i in range(300):
        m = i // 2
        if i == 0:
            num = 1.0
        elif i % 2:
            num = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))
        else:
            num = m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m))
        d = 1.0 / (1.0 + num * d or 1e-300)
        c = 1.0 + num / c or 1e-300
        f *= c * d
        if abs(1.0 - c * d) < 1e-16:
            break
    return front * (f - 1.0)


def beta_scheduler(model_sampling, steps, alpha=0.6, beta=0.6):
    """Timesteps at Beta(alpha, beta) quantiles (host uses scipy's ppf; this inverts by bisection)."""
    total = len(model_sampling.sigmas) - 1
    sigs, last = [], -1
    for i in range(steps):
        p, lo, hi = 1 - i / steps, 0.0, 1.0
        for _ in range(60):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if _beta_cdf(mid, alpha, beta) < p else (lo, mid)
        t = round(hi * total) if p < 1 else total
        if t != last:
            sigs.append(float(model_sampling.sigmas[int(t)]))
        last = t
    return torch.FloatTensor(sigs + [0.0])


SCHEDULER_HANDLERS = {"simple": simple_scheduler, "sgm_uniform": lambda s, n: normal_scheduler(s, n, sgm=True),
                      "karras": karras_scheduler, "exponential": exponential_scheduler, "beta": beta_scheduler,
                      "normal": normal_scheduler}
SCHEDULER_NAMES = list(SCHEDULER_HANDLERS)


def calculate_sigmas(model_sampling, scheduler_name: str, steps: int) -> torch.Tensor:
    if scheduler_name not in SCHEDULER_HANDLERS:
        raise ValueError(f"error invalid scheduler {scheduler_name}")
    fn = SCHEDULER_HANDLERS[scheduler_name]
    if scheduler_name in ("karras", "exponential"):
        return fn(n=steps, sigma_min=float(model_sampling.sigma_min), sigma_max=float(model_sampling.sigma_max))
    return fn(model_sampling, steps)


# --- k-diffusion style samplers (model(x, sigma * s_in, **extra_args) -> denoised) -------------


def _to_d(x, sigma, denoised):
    return (x - denoised) / sigma.reshape(sigma.shape + (1,) * (x.ndim - sigma.ndim))


def sample_euler(model, x, sigmas, extra_args=None, callback=None, disable=None):
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in, **(extra_args or {}))
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "sigma_hat": sigmas[i], "denoised": denoised})
        x = x + _to_d(x, sigmas[i], denoised) * (sigmas[i + 1] - sigmas[i])
    return x


def sample_heun(model, x, sigmas, extra_args=None, callback=None, disable=None):
    s_in = x.new_ones([x.shape[0]])
    for i in range(len(sigmas) - 1):
        denoised = model(x, sigmas[i] * s_in, **(extra_args or {}))
        if callback is not None:
            callback({"x": x, "i": i, "sigma": sigmas[i], "sigma_hat": sigmas[i], "denoised": denoised})
        d, dt = _to_d(x, sigmas[i], denoised), sigmas[i + 1] - sigmas[i]
        if sigmas[i + 1] == 0:
            x = x + d * dt
        else:  # second evaluation at the next sigma, average of the two slopes
            x_2 = x + d * dt
            d_2 = _to_d(x_2, sigmas[i + 1], model(x_2, sigmas[i + 1] * s_in, **(extra_args or {})))
            x = x + (d + d_2) / 2 * dt
    return x


SAMPLERS = {"euler": sample_euler, "heun": sample_heun}
SAMPLER_NAMES = list(SAMPLERS)


class KSAMPLER:
    def __init__(self, sampler_function, extra_options={}, inpaint_options={}):
        self.sampler_function, self.extra_options = sampler_function, extra_options

    def sample(self, model_wrap, sigmas, extra_args, callback, noise, latent_image=None, denoise_mask=None,
               disable_pbar=False):
        base = model_wrap.inner_model
        extra_args = dict(extra_args)
        extra_args.pop("denoise_mask", None)

        def denoiser(x, sigma, **kw):
            if denoise_mask is not None:  # keep the unmasked part on the noised input latent
                kept = base.scale_latent_inpaint(sigma=sigma, noise=noise, latent_image=latent_image)
                x = x * denoise_mask + kept * (1 - denoise_mask)
            out = model_wrap(x, sigma, **kw)
            return out if denoise_mask is None else out * denoise_mask + latent_image * (1 - denoise_mask)

        max_sigma = float(base.model_sampling.sigma_max)
        max_denoise = math.isclose(max_sigma, float(sigmas[0]), rel_tol=1e-05) or float(sigmas[0]) > max_sigma
        x = base.model_sampling.noise_scaling(sigmas[0], noise, latent_image, max_denoise)
        total = len(sigmas) - 1
        k_cb = None if callback is None else (lambda d: callback(d["i"], d["denoised"], d["x"], total))
        x = self.sampler_function(denoiser, x, sigmas, extra_args=extra_args, callback=k_cb, disable=disable_pbar,
                                  **self.extra_options)
        return base.model_sampling.inverse_noise_scaling(sigmas[-1], x)


def ksampler(sampler_name, extra_options={}, inpaint_options={}):
    return KSAMPLER(SAMPLERS[sampler_name], extra_options, inpaint_options)


def sampler_object(name):
    return ksampler(name)


# --- cond batching ----------------------------------------------------------------------------


def _can_concat(a: dict, b: dict) -> bool:
    return a is b or (a.keys() == b.keys() and all(a[k].can_concat(b[k]) for k in a))


def calc_cond_batch(model, conds, x_in, timestep, model_options):
    wrappers = get_all_wrappers(WrappersMP.CALC_COND_BATCH, model_options, is_model_options=True)
    return WrapperExecutor.new_executor(_calc_cond_batch, wrappers).execute(model, conds, x_in, timestep, model_options)


def _calc_cond_batch(model, conds, x_in, timestep, model_options):
    out = [torch.zeros_like(x_in) for _ in conds]
    counts = [torch.ones_like(x_in) * 1e-37 for _ in conds]
    to_run = []
    for i, cond in enumerate(conds):
        for c in cond or []:
            processed = {k: v.process_cond(batch_size=x_in.shape[0]) for k, v in c["model_conds"].items()}
            to_run.append((processed, c.get("strength", 1.0), c["uuid"], i))
    while to_run:
        first = to_run[0][0]
        picked = [j for j in range(len(to_run)) if _can_concat(to_run[j][0], first)][::-1]
        batch = [to_run.pop(j) for j in picked]
        cond_or_uncond = [b[3] for b in batch]
        c = {k: batch[0][0][k].concat([b[0][k] for b in batch[1:]]) for k in batch[0][0]}
        to = merge_nested_dicts({}, model_options.get("transformer_options", {}), copy_dict1=False)
        to.update(cond_or_uncond=cond_or_uncond[:], uuids=[b[2] for b in batch], sigmas=timestep)
        c["transformer_options"] = to
        input_x, timestep_ = torch.cat([x_in] * len(batch)), torch.cat([timestep] * len(batch))
        if "model_function_wrapper" in model_options:
            output = model_options["model_function_wrapper"](
                model.apply_model, {"input": input_x, "timestep": timestep_, "c": c, "cond_or_uncond": cond_or_uncond})
        else:
            output = model.apply_model(input_x, timestep_, **c)
        for o, (_, strength, _, idx) in zip(output.chunk(len(batch)), batch):
            out[idx] += o * strength
            counts[idx] += strength
    return [o / n for o, n in zip(out, counts)]


def cfg_function(model, cond_pred, uncond_pred, cond_scale, x, timestep, model_options={}, cond=None, uncond=None):
    shared = {"cond_denoised": cond_pred, "uncond_denoised": uncond_pred, "cond_scale": cond_scale, "sigma": timestep,
              "input": x, "model": model, "model_options": model_options}
    custom = model_options.get("sampler_cfg_function")
    if custom is None:
        result = uncond_pred + (cond_pred - uncond_pred) * cond_scale
    else:  # the custom function works on noise predictions (x - denoised)
        result = x - custom({**shared, "cond": x - cond_pred, "uncond": x - uncond_pred, "timestep": timestep,
                             "input_cond": cond, "input_uncond": uncond})
    for post in model_options.get("sampler_post_cfg_function", []):
        result = post({**shared, "denoised": result, "cond": cond, "uncond": uncond})
    return result


def sampling_function(model, x, timestep, uncond, cond, cond_scale, model_options={}, seed=None):
    skip_uncond = math.isclose(cond_scale, 1.0) and not model_options.get("disable_cfg1_optimization", False)
    uncond_ = None if skip_uncond else uncond
    cond_pred, uncond_pred = calc_cond_batch(model, [cond, uncond_], x, timestep, model_options)
    return cfg_function(model, cond_pred, uncond_pred, cond_scale, x, timestep, model_options=model_options,
                        cond=cond, uncond=uncond_)


# --- guider -----------------------------------------------------------------------------------


def convert_cond(cond):
    """``[[context, {opts}]]`` -> ``[{**opts, "cross_attn": context, "model_conds": {}, "uuid": ...}]``."""
    out = []
    for context, opts in cond:
        c = dict(opts, model_conds=dict(opts.get("model_conds", {})), uuid=uuid.uuid4())
        if context is not None:
            c["cross_attn"] = context
        out.append(c)
    return out


def encode_model_conds(model, conds, noise, device, prompt_type, **kwargs):
    for i, c in enumerate(conds):
        params = dict(c, device=device, noise=noise, prompt_type=c.get("prompt_type", prompt_type))
        params.setdefault("width", noise.shape[3] * 8)
        params.setdefault("height", noise.shape[2] * 8)
        for k, v in kwargs.items():
            params.setdefault(k, v)
        conds[i] = dict(c, model_conds={**c["model_conds"], **model.extra_conds(**params)})
    return conds


class CFGGuider:
    def __init__(self, model_patcher):
        self.model_patcher, self.model_options = model_patcher, model_patcher.model_options
        self.original_conds, self.cfg = {}, 1.0

    def set_conds(self, positive, negative):
        self.inner_set_conds({"positive": positive, "negative": negative})

    def set_cfg(self, cfg):
        self.cfg = cfg

    def inner_set_conds(self, conds):
        for k, v in conds.items():
            self.original_conds[k] = convert_cond(v)

    def __call__(self, *args, **kwargs):
        return self.outer_predict_noise(*args, **kwargs)

    def outer_predict_noise(self, x, timestep, model_options={}, seed=None):
        wrappers = get_all_wrappers(WrappersMP.PREDICT_NOISE, self.model_options, is_model_options=True)
        return WrapperExecutor.new_class_executor(self.predict_noise, self, wrappers).execute(
            x, timestep, model_options, seed)

    def predict_noise(self, x, timestep, model_options={}, seed=None):
        return sampling_function(self.inner_model, x, timestep, self.conds.get("negative"), self.conds.get("positive"),
                                 self.cfg, model_options=model_options, seed=seed)

    def inner_sample(self, noise, latent_image, device, sampler, sigmas, denoise_mask, callback, disable_pbar, seed,
                     latent_shapes=None):
        if latent_image is not None and torch.count_nonzero(latent_image) > 0:
            latent_image = self.inner_model.process_latent_in(latent_image)
        for k in self.conds:
            self.conds[k] = encode_model_conds(self.inner_model, self.conds[k], noise, device, k,
                                               latent_image=latent_image, denoise_mask=denoise_mask, seed=seed)
        options = copy_nested_dicts(self.model_options)
        options.setdefault("transformer_options", {})["sample_sigmas"] = sigmas
        extra_args = {"model_options": options, "seed": seed}
        wrappers = get_all_wrappers(WrappersMP.SAMPLER_SAMPLE, options, is_model_options=True)
        samples = WrapperExecutor.new_class_executor(sampler.sample, sampler, wrappers).execute(
            self, sigmas, extra_args, callback, noise, latent_image, denoise_mask, disable_pbar)
        return self.inner_model.process_latent_out(samples.to(torch.float32))

    def outer_sample(self, noise, latent_image, sampler, sigmas, denoise_mask=None, callback=None, disable_pbar=False,
                     seed=None, latent_shapes=None):
        wrappers = get_all_wrappers(WrappersMP.PREPARE_SAMPLING, self.model_options, is_model_options=True)
        prepare = WrapperExecutor.new_executor(_prepare_sampling, wrappers)
        self.inner_model, self.conds, self.loaded_models = prepare.execute(
            self.model_patcher, noise.shape, self.conds, model_options=self.model_options)
        device = self.model_patcher.load_device
        try:
            self.model_patcher.pre_run()
            output = self.inner_sample(noise.to(device, torch.float32), latent_image.to(device, torch.float32), device,
                                       sampler, sigmas.to(device), denoise_mask, callback, disable_pbar, seed,
                                       latent_shapes=latent_shapes)
        finally:
            self.model_patcher.cleanup()
        del self.inner_model, self.loaded_models
        return output

    def sample(self, noise, latent_image, sampler, sigmas, denoise_mask=None, callback=None, disable_pbar=False,
               seed=None):
        if sigmas.shape[-1] == 0:
            return latent_image
        if denoise_mask is not None:
            denoise_mask = torch.nn.functional.interpolate(denoise_mask.reshape(-1, 1, *denoise_mask.shape[-2:]),
                                                           size=latent_image.shape[-2:], mode="bilinear").float()
        self.conds = {k: [dict(c) for c in v] for k, v in self.original_conds.items()}
        orig_model_options = self.model_options
        try:
            self.model_options = copy_nested_dicts(self.model_options)
            to = self.model_options["transformer_options"]
            merge_nested_dicts(to.setdefault("wrappers", {}), self.model_patcher.wrappers, copy_dict1=False)
            merge_nested_dicts(to.setdefault("callbacks", {}), self.model_patcher.callbacks, copy_dict1=False)
            wrappers = get_all_wrappers(WrappersMP.OUTER_SAMPLE, self.model_options, is_model_options=True)
            output = WrapperExecutor.new_class_executor(self.outer_sample, self, wrappers).execute(
                noise, latent_image, sampler, sigmas, denoise_mask, callback, disable_pbar, seed,
                latent_shapes=[latent_image.shape])
        finally:
            self.model_options = orig_model_options
        del self.conds
        return output


def _prepare_sampling(model, noise_shape, conds, model_options=None, force_full_load=False, force_offload=False):
    model_management.load_models_gpu([model], force_full_load=force_full_load)
    return model.model, conds, []


def sample(model, noise, positive, negative, cfg, device, sampler, sigmas, model_options={}, latent_image=None,
           denoise_mask=None, callback=None, disable_pbar=False, seed=None):
    guider = CFGGuider(model)
    guider.set_conds(positive, negative)
    guider.set_cfg(cfg)
    return guider.sample(noise, latent_image, sampler, sigmas, denoise_mask, callback, disable_pbar, seed)


class KSampler:
    """Sigma selection of the host's KSampler: ``denoise < 1`` computes ``int(steps / denoise)`` sigmas
    and keeps the last ``steps + 1``; ``start_step``/``last_step`` slice them."""

    SCHEDULERS, SAMPLERS = SCHEDULER_NAMES, SAMPLER_NAMES

    def __init__(self, model, steps, device, sampler=None, scheduler=None, denoise=None, model_options={}):
        self.model, self.device, self.model_options, self.denoise = model, device, model_options, denoise
        self.scheduler = scheduler if scheduler in self.SCHEDULERS else self.SCHEDULERS[0]
        self.sampler = sampler if sampler in self.SAMPLERS else self.SAMPLERS[0]
        self.set_steps(steps, denoise)

    def calculate_sigmas(self, steps):
        return calculate_sigmas(self.model.get_model_object("model_sampling"), self.scheduler, steps)

    def set_steps(self, steps, denoise=None):
        self.steps = steps
        if denoise is None or denoise > 0.9999:
            self.sigmas = self.calculate_sigmas(steps).to(self.device)
        elif denoise <= 0.0:
            self.sigmas = torch.FloatTensor([])
        else:
            self.sigmas = self.calculate_sigmas(int(steps / denoise)).to(self.device)[-(steps + 1):]

    def sample(self, noise, positive, negative, cfg, latent_image=None, start_step=None, last_step=None,
               force_full_denoise=False, denoise_mask=None, sigmas=None, callback=None, disable_pbar=False, seed=None):
        sigmas = self.sigmas if sigmas is None else sigmas
        if last_step is not None and last_step < len(sigmas) - 1:
            sigmas = sigmas[: last_step + 1]
            if force_full_denoise:
                sigmas[-1] = 0
        if start_step is not None:
            if start_step >= len(sigmas) - 1:
                return latent_image if latent_image is not None else torch.zeros_like(noise)
            sigmas = sigmas[start_step:]
        return sample(self.model, noise, positive, negative, cfg, self.device, sampler_object(self.sampler), sigmas,
                      self.model_options, latent_image=latent_image, denoise_mask=denoise_mask, callback=callback,
                      disable_pbar=disable_pbar, seed=seed)
