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


def _position_of(sigmas: list[float], value: float) -> float:
    """Fractional step index where the descending schedule passes ``value``."""
    for i in range(len(sigmas) - 1):
        high, low = sigmas[i], sigmas[i + 1]
        if high >= value >= low:
            return i + ((high - value) / (high - low) if high != low else 0.0)
    return 0.0 if value >= sigmas[0] else float(len(sigmas) - 1)


def _value_at(sigmas: list[float], position: float) -> float:
    i = min(int(position), len(sigmas) - 2)
    frac = position - i
    return sigmas[i] + (sigmas[i + 1] - sigmas[i]) * frac


def refine_sigmas(sigmas: torch.Tensor, steps: int, strength: float) -> torch.Tensor:
    """``steps + 1`` descending sigmas from ``strength`` to ``sigmas[-1]`` (see module doc)."""
    if not isinstance(sigmas, torch.Tensor) or sigmas.dim() != 1 or sigmas.numel() < 2:
        raise ValueError("sigmas must be a 1-D schedule of at least 2 values")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"refine_steps must be an integer >= 1, got {steps!r}")
    if not 0.0 < float(strength) <= 1.0:
        raise ValueError(f"refine_strength must be in (0, 1], got {strength!r}")
    values = [float(s) for s in sigmas.detach().cpu().flatten()]
    if any(values[i] < values[i + 1] for i in range(len(values) - 1)):
        raise ValueError("sigmas must be descending for keyframe refinement")
    top = min(float(strength), values[0])
    if top <= values[-1]:
        raise ValueError(
            f"refine_strength must be above the schedule's last sigma {values[-1]:g}, got {strength!r}"
        )
    start = _position_of(values, top)
    end = float(len(values) - 1)
    out = [top]
    for j in range(1, steps + 1):
        out.append(_value_at(values, start + (end - start) * j / steps))
    out[-1] = values[-1]
    return torch.tensor(out, dtype=sigmas.dtype, device=sigmas.device)
