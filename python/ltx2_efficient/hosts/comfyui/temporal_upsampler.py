"""A ComfyUI LATENT_UPSCALE_MODEL (LTX temporal upsampler, x2 in time) as an ``Upsampler``.

Like core's ``LTXVLatentUpsampler`` node, the model runs on un-normalised latents: the VAE's
per-channel statistics are removed before and put back after.
"""

from __future__ import annotations

from typing import Any

import torch

from ltx2_efficient.torch_glue.interpolation import Upsampler


def make_upsampler(upscale_model: Any, vae: Any) -> Upsampler | None:
    """The callable ``[B, C, F, H, W] -> [B, C, 2F - 1, H, W]``, or None when either is missing."""
    if upscale_model is None or vae is None:
        return None
    statistics = getattr(getattr(vae, "first_stage_model", None), "per_channel_statistics", None)
    if statistics is None:
        raise ValueError(
            "vae must be an LTX video VAE (its latent statistics are needed by the temporal upsampler)"
        )

    def upsample(latent: torch.Tensor) -> torch.Tensor:
        import comfy.model_management

        device = comfy.model_management.get_torch_device()
        dtype = next(upscale_model.parameters()).dtype
        try:
            upscale_model.to(device)
            x = statistics.un_normalize(latent.to(device=device, dtype=dtype))
            out = statistics.normalize(upscale_model(x))
        finally:
            upscale_model.cpu()
        return out.to(device=latent.device, dtype=latent.dtype)

    return upsample
