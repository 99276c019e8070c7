"""The sigma schedule of the refine phase: the tail of the user's schedule from ``strength``.

After keyframe diffusion and interpolation the full-length latent is re-noised to sigma
``strength`` and denoised again with ``steps`` steps. The refine schedule follows the shape of
the schedule the user connected: it starts at ``strength`` and samples the rest of that schedule
(piecewise linear in step index) at ``steps`` evenly spaced positions down to its last sigma.
ComfyUI's sampler then re-noises by itself: for LTX's flow-matching sampling its first step
starts from ``strength * noise + (1 - strength) * latent``.
"""

from __future__ import annotations

import torch

from ltx2_efficient.sampler.keyframes import refine_schedule


def refine_sigmas(sigmas: torch.Tensor, steps: int, strength: float) -> torch.Tensor:
    """``steps + 1`` descending sigmas from ``strength`` to ``sigmas[-1]`` (see module doc), on
    the schedule's device and dtype; the rule is the one every host shares
    (:func:`ltx2_efficient.sampler.keyframes.refine_schedule`)."""
    if not isinstance(sigmas, torch.Tensor) or sigmas.dim() != 1 or sigmas.numel() < 2:
        raise ValueError("sigmas must be a 1-D schedule of at least 2 values")
    return refine_schedule(sigmas, strength, steps).to(dtype=sigmas.dtype, device=sigmas.device)
