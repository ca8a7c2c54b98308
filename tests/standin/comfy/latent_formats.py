"""Latent formats of the rotary families (``comfy.latent_formats``): channels, VAE downscale and
``latent_dimensions`` (3 for video VAEs, whose latents are ``[B, C, T, H, W]``)."""


class LatentFormat:
    scale_factor, shift_factor, latent_channels, spacial_downscale_ratio = 1.0, 0.0, 4, 8
    latent_dimensions = 2

    def process_in(self, latent):
        return (latent - self.shift_factor) * self.scale_factor

    def process_out(self, latent):
        return latent / self.scale_factor + self.shift_factor


class Flux(LatentFormat):
    scale_factor, shift_factor, latent_channels = 0.3611, 0.1159, 16


class Flux2(LatentFormat):
    """128 channels at 16x downscale, used as is (identity in/out)."""

    latent_channels, spacial_downscale_ratio = 128, 16


class Wan21(LatentFormat):
    """Wan 2.1 / Qwen-Image / Krea 2 VAE: 16 channels, 5-D latents."""

    latent_channels, latent_dimensions = 16, 3


class Wan22(LatentFormat):
    latent_channels, spacial_downscale_ratio, latent_dimensions = 48, 16, 3


class HunyuanImage21(LatentFormat):
    latent_channels, spacial_downscale_ratio = 64, 32


class HunyuanVideo(LatentFormat):
    latent_channels, latent_dimensions = 16, 3


class ZImagePixelSpace(LatentFormat):
    latent_channels, spacial_downscale_ratio = 3, 1


class QwenImage21(LatentFormat):
    latent_channels, spacial_downscale_ratio = 64, 16
