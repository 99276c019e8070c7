"""Plain Euler sampling with classifier-free guidance: every frame, every step, dense attention.

This is the reference the efficient sampler is compared against: it calls the unpatched demo
model once per step (conditional and unconditional prompts batched together).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from ltx_core.components.schedulers import LTX2Scheduler

from ltx2_efficient.demo.model import DemoModel, DemoModelConfig


def demo_sigmas(steps: int, latent_shape: tuple[int, ...]) -> torch.Tensor:
    """LTX-2's default schedule (token-count shift, stretched to 0.1 then 0) for a latent shape."""
    if not 1 <= steps <= 1000:
        raise ValueError(f"steps must be in [1, 1000], got {steps}")
    return LTX2Scheduler().execute(steps, latent=torch.empty(latent_shape, device="meta"))


def model_sigmas(config: DemoModelConfig, steps: int, latent_shape: tuple[int, ...]) -> torch.Tensor:
    """The schedule a model samples with: a distilled model's own (``config.sigmas``; ``steps``
    must match it), else LTX-2's default for the latent shape."""
    if config.sigmas is None:
        return demo_sigmas(steps, latent_shape)
    if steps != len(config.sigmas) - 1:
        raise ValueError(
            f"steps must be {len(config.sigmas) - 1} for this distilled model (its fixed schedule), got {steps}"
        )
    return torch.tensor(config.sigmas, dtype=torch.float32)


def initial_noise(latent_shape: tuple[int, ...], seed: int) -> torch.Tensor:
    """The seed's noise (float32, CPU generator) so that every run of a seed starts alike."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(latent_shape, generator=generator, dtype=torch.float32)


def guided_velocity(
    model: DemoModel,
    latent: torch.Tensor,
    sigma: float,
    context: torch.Tensor,
    uncond_context: torch.Tensor | None,
    frame_rate: float,
    guidance: float,
) -> torch.Tensor:
    """cond + (guidance - 1) * (cond - uncond), one batched call when guidance != 1."""
    b = latent.shape[0]
    if uncond_context is None or guidance == 1.0:
        sig = torch.full((b,), sigma, dtype=torch.float32)
        return model.velocity(latent, sig, context, frame_rate)
    sig = torch.full((2 * b,), sigma, dtype=torch.float32)
    both = model.velocity(torch.cat([latent, latent]), sig, torch.cat([context, uncond_context]), frame_rate)
    cond, uncond = both[:b], both[b:]
    return cond + (guidance - 1.0) * (cond - uncond)


@torch.inference_mode()
def sample_reference(
    model: DemoModel,
    noise: torch.Tensor,
    prompt_ids: torch.Tensor,
    sigmas: torch.Tensor,
    frame_rate: float,
    guidance: float = 3.0,
    on_step: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """Denoises ``noise`` ``[B, C, F, H, W]`` along ``sigmas`` with Euler steps; returns the latent."""
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    x = noise.to(device=device, dtype=torch.float32)
    context = model.context(prompt_ids.to(device))
    uncond = model.context(torch.zeros_like(prompt_ids, device=device)) if guidance != 1.0 else None
    steps = len(sigmas) - 1
    for i in range(steps):
        sigma, sigma_next = float(sigmas[i]), float(sigmas[i + 1])
        v = guided_velocity(
            model, x.to(dtype), sigma, context.to(dtype), _cast(uncond, dtype), frame_rate, guidance
        )
        x = x + v.float() * (sigma_next - sigma)
        if on_step is not None:
            on_step(i + 1, steps)
    return x


def _cast(t: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    return None if t is None else t.to(dtype)
