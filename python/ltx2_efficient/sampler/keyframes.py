"""Keyframe (frame-stride) diffusion helpers shared by every host.

With stride s the sampler diffuses F' = ceil((F - 1) / s) + 1 latent frames at ``fps / s``, then
rebuilds the full clip by interpolation, re-noises it and refines it. These helpers do the
tensor side of that on ``[B, C, F, H, W]`` latents (frame dimension 2):

- :func:`pinned_frames` finds the conditioning frames that must be diffused (frames whose noise
  mask is < 1 somewhere, e.g. the image-to-video first frame, plus keyframe guide targets);
- :func:`plan_keyframes` makes the :class:`KeyframeLayout` (the core's ``KeyframePlan`` plus the
  number of appended guide frames that ride along unchanged);
- ``layout.select(x)`` picks the diffused frames of a latent, noise or noise mask;
- ``layout.expand(keyframes, method)`` interpolates back to the full length (diffused frames
  exact, appended frames copied);
- :func:`renoise` moves a clean latent back to noise level sigma with the flow-matching rule
  ``x = (1 - sigma) * x0 + sigma * noise`` (per token ``sigma * mask`` where a denoise mask
  keeps conditioning tokens clean).

Appended frames: ComfyUI's keyframe guides append latent frames after the F grid frames
(``[B, C, F + G, H, W]``). They are not part of the timeline, so they are neither strided nor
interpolated: ``appended_frames=G`` keeps them at the end of every selected or expanded tensor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch

from ltx2_efficient import _core
from ltx2_efficient.torch_glue.interpolation import Upsampler, interpolate_latent


def _check_latent(name: str, x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 5:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a [B, C, F, H, W] tensor, got {shape}")


def pinned_frames(
    noise_mask: torch.Tensor | None,
    frames: int,
    guide_frames: Iterable[int] = (),
) -> list[int]:
    """Latent frames (of the F grid frames) that are conditioning and must be diffused.

    Args:
        noise_mask: None, or a denoise mask broadcastable to ``[B, 1, F(+G), H, W]`` with 1 = fully
            denoised and < 1 = (partly) kept. A frame is pinned when its mask is < 1 anywhere. A
            mask with a frame dimension of 1 applies to every frame.
        frames: F, the number of grid latent frames.
        guide_frames: grid latent frame indices that keyframe guides target.
    Returns sorted unique frame indices in [0, F).
    """
    if isinstance(frames, bool) or not isinstance(frames, int) or frames < 1:
        raise ValueError(f"frames must be an integer >= 1, got {frames!r}")
    pinned: set[int] = set()
    for f in guide_frames:
        if isinstance(f, bool) or not isinstance(f, int) or not 0 <= f < frames:
            raise ValueError(f"guide_frames must hold frame indices in [0, {frames - 1}], got {f!r}")
        pinned.add(f)
    if noise_mask is not None:
        if not isinstance(noise_mask, torch.Tensor):
            raise ValueError(f"noise_mask must be a tensor or None, got {type(noise_mask).__name__}")
        mask = noise_mask
        while mask.dim() < 5:
            mask = mask.unsqueeze(0)
        if mask.dim() != 5:
            raise ValueError(
                f"noise_mask must have at most 5 dimensions, got shape {tuple(noise_mask.shape)}"
            )
        mask_frames = mask.shape[2]
        if mask_frames not in (1,) and mask_frames < frames:
            raise ValueError(f"noise_mask must have 1 or at least {frames} frames, got {mask_frames}")
        per_frame = mask.detach().float().amin(dim=(0, 1, 3, 4)).cpu()
        if mask_frames == 1:
            if float(per_frame[0]) < 1.0:
                pinned.update(range(frames))
        else:
            pinned.update(int(f) for f in torch.nonzero(per_frame[:frames] < 1.0).flatten().tolist())
    return sorted(pinned)


@dataclass(frozen=True)
class KeyframeLayout:
    """Which frames are diffused (``plan``) and how many appended guide frames ride along."""

    plan: _core.KeyframePlan
    appended_frames: int = 0

    @property
    def full_frames(self) -> int:
        """F: grid frames of the full clip (without appended frames)."""
        return int(self.plan.full_frames)

    @property
    def diffused_frames(self) -> int:
        """F': grid frames diffused in the keyframe phase (without appended frames)."""
        return int(self.plan.diffused_frames)

    @property
    def is_identity(self) -> bool:
        return bool(self.plan.is_identity)

    @property
    def effective_fps(self) -> float:
        return float(self.plan.effective_fps)

    def diffused_index(self, device: torch.device | str | None = None) -> torch.Tensor:
        """Frame indices to gather from a full tensor, appended frames included (int64)."""
        grid = list(self.plan.diffused)
        appended = list(range(self.full_frames, self.full_frames + self.appended_frames))
        return torch.tensor(grid + appended, dtype=torch.long, device=device)

    def select(self, x: torch.Tensor, dim: int = 2) -> torch.Tensor:
        """The diffused frames of ``x`` (latent, noise or mask) along ``dim``.

        A tensor whose frame dimension has size 1 (a mask broadcast over frames) is returned as
        is; otherwise it must have F + appended_frames frames.
        """
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"x must be a tensor, got {type(x).__name__}")
        size = x.shape[dim]
        if size == 1 and self.full_frames + self.appended_frames != 1:
            return x
        expected = self.full_frames + self.appended_frames
        if size != expected:
            raise ValueError(f"x must have {expected} frames along dim {dim}, got {size}")
        if self.is_identity:
            return x
        return x.index_select(dim, self.diffused_index(x.device))

    def expand(
        self,
        keyframes: torch.Tensor,
        method: str = "lerp",
        upsampler: Upsampler | None = None,
    ) -> torch.Tensor:
        """Interpolates ``[B, C, F' + G, H, W]`` back to ``[B, C, F + G, H, W]``.

        Diffused frames are copied exactly; appended frames are copied unchanged.
        """
        _check_latent("keyframes", keyframes)
        expected = self.diffused_frames + self.appended_frames
        if keyframes.shape[2] != expected:
            raise ValueError(f"keyframes must have {expected} frames, got {keyframes.shape[2]}")
        grid = keyframes[:, :, : self.diffused_frames]
        full = interpolate_latent(grid, self.plan, method, upsampler)
        if self.appended_frames:
            full = torch.cat([full, keyframes[:, :, self.diffused_frames :]], dim=2)
        return full

    def scatter(self, full: torch.Tensor, keyframes: torch.Tensor) -> torch.Tensor:
        """A copy of ``full`` with its diffused (and appended) frames replaced by ``keyframes``."""
        _check_latent("full", full)
        _check_latent("keyframes", keyframes)
        out = full.clone()
        out.index_copy_(2, self.diffused_index(full.device), keyframes.to(full.dtype))
        return out


def plan_keyframes(
    latent_frames: int,
    stride: int,
    fps: float,
    *,
    noise_mask: torch.Tensor | None = None,
    guide_frames: Iterable[int] = (),
    appended_frames: int = 0,
) -> KeyframeLayout:
    """The keyframe layout for F = ``latent_frames`` grid frames at ``stride``.

    Conditioning frames (from ``noise_mask`` and ``guide_frames``, see :func:`pinned_frames`)
    are always diffused. ``appended_frames`` counts the guide frames appended after the grid.
    """
    if isinstance(appended_frames, bool) or not isinstance(appended_frames, int) or appended_frames < 0:
        raise ValueError(f"appended_frames must be an integer >= 0, got {appended_frames!r}")
    pinned = pinned_frames(noise_mask, latent_frames, guide_frames)
    plan = _core.make_keyframe_plan(latent_frames, stride, float(fps), pinned)
    return KeyframeLayout(plan=plan, appended_frames=appended_frames)


def renoise(
    x0: torch.Tensor,
    noise: torch.Tensor,
    sigma: float,
    denoise_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Flow-matching forward process: ``(1 - s) * x0 + s * noise`` with ``s = sigma * mask``.

    ``denoise_mask`` (broadcastable to ``x0``; 1 = denoised, 0 = kept) keeps conditioning
    tokens clean, like ltx-core's noiser. Computed in float32, returned in ``x0``'s dtype.
    """
    if not isinstance(sigma, (int, float)) or isinstance(sigma, bool) or not 0.0 <= float(sigma) <= 1.0:
        raise ValueError(f"sigma must be in [0, 1], got {sigma!r}")
    if noise.shape != x0.shape:
        raise ValueError(f"noise must have the shape of x0 {tuple(x0.shape)}, got {tuple(noise.shape)}")
    s: torch.Tensor | float = float(sigma)
    if denoise_mask is not None:
        s = denoise_mask.to(device=x0.device, dtype=torch.float32) * float(sigma)
    out = x0.float() * (1.0 - s) + noise.to(device=x0.device).float() * s
    return out.to(x0.dtype)


def refine_schedule(sigmas: torch.Tensor | list[float], strength: float, steps: int) -> torch.Tensor:
    """Sigmas of the refine phase: the tail of ``sigmas`` from ``strength`` down, in ``steps`` steps.

    The schedule is read as a piecewise-linear function of progress u in [0, 1] (u_i = i / N
    for the N + 1 given sigmas); the refine phase starts where it equals ``strength`` and takes
    ``steps`` equal progress steps to the end, so shifted or distilled schedules keep their shape.
    Returns ``steps + 1`` float32 sigmas starting exactly at ``strength`` (clamped to sigmas[0]).
    """
    values = torch.as_tensor(sigmas, dtype=torch.float64).flatten().cpu()
    if values.numel() < 2:
        raise ValueError(f"sigmas must hold at least 2 values, got {values.numel()}")
    if bool((values[1:] > values[:-1]).any()):
        raise ValueError("sigmas must be non-increasing")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"refine_steps must be an integer >= 1, got {steps!r}")
    _core.check_knob("refine_strength", float(strength))
    if float(strength) == 0.0:  # 0 is the knob's "no refine phase"; a refine phase needs a start
        raise ValueError("refine_strength must be above 0 for a refine phase, got 0")
    n = values.numel() - 1
    start = min(float(strength), float(values[0]))
    if start <= float(values[-1]):
        raise ValueError(
            f"refine_strength must be above the schedule's last sigma {float(values[-1]):g}, got {strength!r}"
        )
    # progress u where the schedule crosses `start` (first crossing, linear inside a segment)
    u0 = 1.0
    for i in range(n):
        hi, lo = float(values[i]), float(values[i + 1])
        if hi >= start >= lo:
            u0 = (i + (hi - start) / (hi - lo)) / n if hi > lo else i / n
            break
    grid_u = torch.arange(n + 1, dtype=torch.float64) / n
    out = []
    for k in range(steps + 1):
        u = u0 + (1.0 - u0) * k / steps
        j = min(int(u * n), n - 1)
        frac = (u - float(grid_u[j])) * n
        out.append(float(values[j]) + (float(values[j + 1]) - float(values[j])) * frac)
    out[0] = start
    out[-1] = float(values[-1])
    return torch.tensor(out, dtype=torch.float32)
