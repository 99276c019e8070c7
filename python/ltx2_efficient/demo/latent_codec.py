"""The lossless stand-in for the VAE: a p x p pixel-unshuffle per frame, values in [-1, 1].

Pixels ``[B, F, H, W, 3]`` in [0, 1] become latents ``[B, 3*p*p, F, H/p, W/p]``: the
``[B, C, F, H, W]`` layout LTX-2 latents have, one latent frame per pixel frame.
"""

from __future__ import annotations

import torch


def encode(pixels: torch.Tensor, patch: int) -> torch.Tensor:
    """Pixels ``[B, F, H, W, 3]`` in [0, 1] -> latent ``[B, 3*patch*patch, F, H/patch, W/patch]``."""
    if pixels.ndim != 5 or pixels.shape[-1] != 3:
        raise ValueError(f"pixels must be [B, F, H, W, 3], got shape {tuple(pixels.shape)}")
    b, f, h, w, _ = pixels.shape
    _check_patch(patch, h, w)
    x = pixels.permute(0, 1, 4, 2, 3).reshape(b * f, 3, h, w)
    x = torch.nn.functional.pixel_unshuffle(x, patch)
    x = x.reshape(b, f, 3 * patch * patch, h // patch, w // patch).permute(0, 2, 1, 3, 4)
    return x * 2.0 - 1.0


def decode(latent: torch.Tensor, patch: int) -> torch.Tensor:
    """Latent ``[B, 3*patch*patch, F, h, w]`` -> pixels ``[B, F, h*patch, w*patch, 3]`` in [0, 1]."""
    if latent.ndim != 5 or latent.shape[1] != 3 * patch * patch:
        raise ValueError(
            f"latent must be [B, {3 * patch * patch}, F, H, W] for patch {patch}, got shape {tuple(latent.shape)}"
        )
    b, c, f, h, w = latent.shape
    x = latent.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w)
    x = torch.nn.functional.pixel_shuffle(x, patch)
    x = x.reshape(b, f, 3, h * patch, w * patch).permute(0, 1, 3, 4, 2)
    return ((x + 1.0) * 0.5).clamp(0.0, 1.0)


def _check_patch(patch: int, height: int, width: int) -> None:
    if patch < 1 or patch > 16:
        raise ValueError(f"patch must be in [1, 16], got {patch}")
    if height % patch or width % patch:
        raise ValueError(f"image size must be a multiple of patch {patch}, got {height}x{width}")
