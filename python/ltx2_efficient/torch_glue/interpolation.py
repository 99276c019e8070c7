"""Temporal latent interpolation on torch tensors, computed by the C++ core.

``interpolate_latent(keyframes, plan, method)`` rebuilds the full-length latent
``[B, C, F, H, W]`` from the diffused keyframes ``[B, C, F', H, W]`` by the plan's map:
diffused frames are copied exactly, the others are blended from their two neighbouring
keyframes with "lerp", "slerp" (per token over channels, norm-preserving) or "motion"
(block-matched motion-compensated warp in latent space; see cpp/include/ltx2eff/interpolation.hpp
for the method). The kernels run on the CPU: tensors on other devices are copied there and the
result is returned on the input's device and dtype.

"upsampler" runs a user-supplied temporal latent upsampler (LTX-2's x2 model: ``F -> 2F - 1``)
as many times as the largest keyframe gap needs, resamples its output to the plan's frame
positions, and puts the diffused keyframes back exactly (conditioning frames stay as they were).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from ltx2_efficient import _core

# The choices of the core's "interpolation" knob row.
METHODS: tuple[str, ...] = tuple(
    next(row["choices"] for row in _core.knob_table() if row["name"] == "interpolation")
)
_KERNEL_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
_MAX_UPSAMPLER_PASSES = 4

Upsampler = Callable[[torch.Tensor], torch.Tensor]


def _check_inputs(keyframes: torch.Tensor, plan: _core.KeyframePlan) -> None:
    if not isinstance(keyframes, torch.Tensor):
        raise ValueError(f"keyframes must be a torch.Tensor, got {type(keyframes).__name__}")
    if not isinstance(plan, _core.KeyframePlan):
        raise ValueError(f"plan must be an ltx2_efficient KeyframePlan, got {type(plan).__name__}")
    if keyframes.dim() != 5:
        raise ValueError(f"keyframes must be [B, C, F', H, W], got shape {tuple(keyframes.shape)}")
    if keyframes.shape[2] != plan.diffused_frames:
        raise ValueError(
            f"keyframes must have {plan.diffused_frames} frames (the plan's diffused frames), "
            f"got {keyframes.shape[2]}"
        )
    if not keyframes.is_floating_point():
        raise ValueError(f"keyframes must be a floating-point tensor, got {keyframes.dtype}")


def _kernel(
    keyframes: torch.Tensor, plan: _core.KeyframePlan, method: str, options: dict[str, Any]
) -> torch.Tensor:
    work_dtype = keyframes.dtype if keyframes.dtype in _KERNEL_DTYPES else torch.float32
    src = keyframes.detach().to(device="cpu", dtype=work_dtype).contiguous()
    b, c, _, h, w = src.shape
    out = torch.empty((b, c, plan.full_frames, h, w), dtype=work_dtype)
    _core.interpolate_frames(src, plan, out, method=_core.parse_interpolation(method), **options)
    return out.to(device=keyframes.device, dtype=keyframes.dtype)


def _resample_upsampled(
    keyframes: torch.Tensor, plan: _core.KeyframePlan, upsampler: Upsampler
) -> torch.Tensor:
    slots = plan.diffused_frames
    if slots == 1:
        return keyframes.expand(-1, -1, plan.full_frames, -1, -1).clone()
    gaps = [plan.diffused[i + 1] - plan.diffused[i] for i in range(slots - 1)]
    passes = max(1, math.ceil(math.log2(max(gaps)))) if max(gaps) > 1 else 0
    if passes > _MAX_UPSAMPLER_PASSES:
        raise ValueError(
            f"upsampler needs {passes} x2 passes for a keyframe gap of {max(gaps)} frames; "
            f"at most {_MAX_UPSAMPLER_PASSES} are allowed (use a smaller frame_stride)"
        )
    dense = keyframes
    for _ in range(passes):
        frames = dense.shape[2]
        with torch.no_grad():
            up = upsampler(dense)
        if not isinstance(up, torch.Tensor) or up.dim() != 5:
            raise ValueError("upsampler must return a [B, C, 2F-1, H, W] tensor")
        expected = (dense.shape[0], dense.shape[1], 2 * frames - 1, dense.shape[3], dense.shape[4])
        if tuple(up.shape) != expected:
            raise ValueError(f"upsampler must return shape {expected} (F -> 2F-1), got {tuple(up.shape)}")
        dense = up.to(device=keyframes.device, dtype=keyframes.dtype)
    scale = 2**passes
    frames_out = []
    for f in range(plan.full_frames):
        src = plan.map[f]
        if src.left == src.right:
            frames_out.append(keyframes[:, :, src.left])  # exact keyframe, not the upsampler's
            continue
        pos = (src.left + src.t) * scale
        lo = min(int(math.floor(pos)), dense.shape[2] - 1)
        hi = min(lo + 1, dense.shape[2] - 1)
        frac = pos - lo
        if frac <= 1e-9 or hi == lo:
            frames_out.append(dense[:, :, lo])
        else:
            frames_out.append(torch.lerp(dense[:, :, lo], dense[:, :, hi], frac))
    return torch.stack(frames_out, dim=2)


def interpolate_latent(
    keyframes: torch.Tensor,
    plan: _core.KeyframePlan,
    method: str = "lerp",
    upsampler: Upsampler | None = None,
    *,
    block: int = 2,
    search_radius: int = 3,
    subtoken: bool = True,
    motion_penalty: float = 0.02,
    consistency_tau: float = 0.75,
) -> torch.Tensor:
    """Full-length latent ``[B, C, plan.full_frames, H, W]`` from keyframes ``[B, C, F', H, W]``.

    Args:
        keyframes: the diffused frames, in the plan's slot order; any device; float32,
            float16 or bfloat16 run natively, other float dtypes through float32.
        plan: the ``KeyframePlan`` the keyframes were diffused with.
        method: "lerp", "slerp", "motion" or "upsampler".
        upsampler: for method "upsampler": a callable ``[B, C, F, H, W] -> [B, C, 2F-1, H, W]``
            (e.g. LTX-2's temporal latent upsampler), run under ``torch.no_grad()``.
        block, search_radius, subtoken, motion_penalty, consistency_tau: motion estimation
            options (tile side, integer search range in tokens, sub-token refinement, penalty on
            large displacements, tokens of forward-backward mismatch that halve the trust).

    Returns a new tensor on ``keyframes``' device and dtype. Diffused frames equal the keyframes
    exactly. Raises ValueError naming the bad parameter.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {' '.join(METHODS)}, got {method!r}")
    _check_inputs(keyframes, plan)
    if method == "upsampler":
        if upsampler is None or not callable(upsampler):
            raise ValueError("upsampler must be a callable when method is 'upsampler'")
        return _resample_upsampled(keyframes, plan, upsampler)
    if upsampler is not None:
        raise ValueError(f"upsampler is only used with method 'upsampler', got method {method!r}")
    options = {
        "block": block,
        "search_radius": search_radius,
        "subtoken": subtoken,
        "motion_penalty": motion_penalty,
        "consistency_tau": consistency_tau,
    }
    return _kernel(keyframes, plan, method, options)
