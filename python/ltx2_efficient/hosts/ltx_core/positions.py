"""Video token positions of ltx-core models: build them for a grid, and read a grid back from them.

ltx-core gives every video token the ``[start, end)`` bounds of the pixels it covers on each axis
(time, height, width): ``(B, 3, T, 2)``, time in seconds. A latent frame f covers pixel frames
``[max(8f - 7, 0), 8f + 1)`` (the causal first frame holds one pixel frame), divided by the frame
rate; a latent row h covers pixels ``[32h, 32h + 32)``, likewise for columns.
"""

from __future__ import annotations

import torch

from ltx2_efficient import _core

_T = _core.TEMPORAL_FACTOR
_S = _core.SPATIAL_FACTOR


def video_positions(
    batch: int,
    grid: tuple[int, int, int],
    fps: float,
    *,
    device: torch.device | str | None = None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """``(batch, 3, F*H*W, 2)`` positions of a frame-major grid at ``fps`` (contiguous frames)."""
    frames, height, width = grid
    if fps <= 0:
        raise ValueError(f"frame_rate must be > 0, got {fps}")
    axes = [torch.arange(n, dtype=torch.float32, device=device) for n in (frames, height, width)]
    ff, hh, ww = torch.meshgrid(*axes, indexing="ij")
    time = torch.stack(((ff * _T - (_T - 1)).clamp(min=0), ff * _T + 1), dim=-1) / fps
    rows = torch.stack((hh * _S, (hh + 1) * _S), dim=-1)
    cols = torch.stack((ww * _S, (ww + 1) * _S), dim=-1)
    pos = torch.stack((time, rows, cols), dim=0).reshape(3, frames * height * width, 2)
    return pos.unsqueeze(0).expand(batch, -1, -1, -1).to(dtype)


def grid_from_positions(positions: torch.Tensor) -> tuple[tuple[int, int, int], int]:
    """((F, H, W), global_tokens) read from video positions ``(B, 3, T)`` or ``(B, 3, T, 2)``.

    The grid is the longest run of whole frames from the start: every frame has the first
    frame's row/column pattern and starts strictly later than the one before. Tokens after it
    (appended conditioning) are global. Raises ValueError when no grid can be read.
    """
    if positions.dim() == 4:
        starts = positions[0, :, :, 0]
    elif positions.dim() == 3:
        starts = positions[0]
    else:
        raise ValueError(f"positions must be (B, 3, T) or (B, 3, T, 2), got shape {tuple(positions.shape)}")
    if starts.shape[0] != 3:
        raise ValueError(f"positions must have 3 axes (time, height, width), got {starts.shape[0]}")
    starts = starts.detach().float().cpu()
    t, h, w = starts[0], starts[1], starts[2]
    total = int(t.numel())
    if total == 0:
        raise ValueError("positions hold no tokens")

    def first_change(values: torch.Tensor) -> int:
        changed = torch.nonzero(values != values[0]).flatten()
        return int(changed[0]) if changed.numel() else int(values.numel())

    per_frame = first_change(t)
    width = min(first_change(h[:per_frame]), per_frame)
    if width < 1 or per_frame % width:
        raise ValueError("positions do not form a frame-major (F, H, W) grid")
    height = per_frame // width
    pattern_h = h[:per_frame]
    pattern_w = w[:per_frame]
    frames = 0
    previous = None
    while (frames + 1) * per_frame <= total:
        lo, hi = frames * per_frame, (frames + 1) * per_frame
        block_t = t[lo:hi]
        if not bool((block_t == block_t[0]).all()):
            break
        if previous is not None and not float(block_t[0]) > previous:
            break
        if not (torch.equal(h[lo:hi], pattern_h) and torch.equal(w[lo:hi], pattern_w)):
            break
        previous = float(block_t[0])
        frames += 1
    if frames == 0:
        raise ValueError("positions do not form a frame-major (F, H, W) grid")
    return (frames, height, width), total - frames * per_frame
