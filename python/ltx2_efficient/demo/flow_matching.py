"""Rectified flow as LTX trains it: x_s = (1 - s) x0 + s noise, the model predicts noise - x0.

Training noise levels follow a logit-normal distribution shifted by the token count with
LTX-2's scheduler shift (more tokens -> noisier on average), mixed with a little uniform mass so
that the extremes are seen too.
"""

from __future__ import annotations

import math

import torch

# LTX2Scheduler's token-count shift: shift = tokens * slope + intercept.
_BASE_SHIFT, _MAX_SHIFT = 0.95, 2.05
_BASE_TOKENS, _MAX_TOKENS = 1024, 4096


def token_shift(tokens: int) -> float:
    """The log-shift LTX-2's scheduler applies for ``tokens`` latent tokens."""
    slope = (_MAX_SHIFT - _BASE_SHIFT) / (_MAX_TOKENS - _BASE_TOKENS)
    return tokens * slope + (_BASE_SHIFT - slope * _BASE_TOKENS)


def shift_sigma(sigma: torch.Tensor, log_shift: float) -> torch.Tensor:
    """sigma -> e^shift / (e^shift + 1/sigma - 1), as LTX2Scheduler shifts its schedule."""
    e = math.exp(log_shift)
    return e * sigma / (e * sigma + (1.0 - sigma))


def sample_training_sigmas(
    batch: int,
    tokens: int,
    generator: torch.Generator | None = None,
    uniform_share: float = 0.1,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Noise levels in (0, 1) for one batch, float32 ``[batch]``."""
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    normal = torch.randn(batch, generator=generator)
    uniform = torch.rand(batch, generator=generator)
    pick_uniform = torch.rand(batch, generator=generator) < uniform_share
    sigma = torch.where(pick_uniform, uniform, torch.sigmoid(normal))
    sigma = shift_sigma(sigma, token_shift(tokens))
    return sigma.clamp(1e-4, 1.0 - 1e-4).to(device)


def noised(clean: torch.Tensor, noise: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """x_sigma = (1 - sigma) * clean + sigma * noise, sigma ``[B]`` broadcast over the rest."""
    s = sigma.reshape(-1, *([1] * (clean.ndim - 1))).to(clean.dtype)
    return (1.0 - s) * clean + s * noise


def velocity_target(clean: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    return noise - clean


def flow_matching_loss(predicted: torch.Tensor, clean: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """Mean squared error of the velocity, in float32."""
    return torch.nn.functional.mse_loss(predicted.float(), velocity_target(clean, noise).float())
