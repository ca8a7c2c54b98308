"""Latent formats used by the FLUX family (``comfy.latent_formats``)."""


class LatentFormat:
    scale_factor, shift_factor, latent_channels, spacial_downscale_ratio = 1.0, 0.0, 4, 8

    def process_in(self, latent):
        return (latent - self.shift_factor) * self.scale_factor

    def process_out(self, latent):
        return latent / self.scale_factor + self.shift_factor


class Flux(LatentFormat):
    scale_factor, shift_factor, latent_channels = 0.3611, 0.1159, 16


class Flux2(LatentFormat):
    """128 channels at 16x downscale, used as is (identity in/out)."""

    latent_channels, spacial_downscale_ratio = 128, 16
