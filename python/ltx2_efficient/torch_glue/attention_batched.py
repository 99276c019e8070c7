"""Frame-batched window attention: the window plan as a few batched SDPA calls on in-place views.

With shifted windows every query frame attends the same number of key frames, and the key span
of query frame f starts one frame after that of f - 1 (inside the borders). So the interior query
frames form one batch whose keys are *overlapping* strided views of the K/V tensors
(``as_strided``: batch stride one frame, length 2K + 1 frames): one SDPA call for all of them,
reading K/V in place, with no gathered copies. The border frames (the first and last K + 1 share
one key span each) form a second batch of two. The platform's fused attention kernel (cuDNN or
FlashAttention on a GPU) then runs at its full efficiency, and a call costs two launches instead
of one per query frame, which is what the per-frame loop of ``attention_fallback`` pays for on
small grids.

Keys outside a frame's window run as extra partial attentions merged by log-sum-exp: frame 0
for the frames whose window does not hold it (``anchor_frame``), and the appended global tokens.
Global queries attend to all keys in one call. The far field and the key subsets of spatial
freeze are not handled here (``supports`` says so; the caller takes another path).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ltx2_efficient import _core

SdpaFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float], tuple[torch.Tensor, torch.Tensor]]


@dataclass(frozen=True)
class FrameBatch:
    """``count`` windows; window i has ``q_frames`` query frames from ``q_first + i * q_step`` and
    ``k_frames`` key frames from ``k_first + i * k_step`` (all in latent frames)."""

    count: int
    q_first: int
    q_step: int
    q_frames: int
    k_first: int
    k_step: int
    k_frames: int


def supports(*, window: int, far_field: int, subset: str, far_8bit: bool) -> str | None:
    """None when the frame-batched path computes this case, else why not."""
    if far_field > 0 or far_8bit:
        return "the far field (far_field > 0) is not batched"
    if subset != "all":
        return f"key subset {subset!r} is not batched"
    return None


def near_ranges(grid: tuple[int, int, int], window: int) -> list[tuple[int, int]]:
    """[begin, end) of every query frame's window, from the C++ plan (shifted windows)."""
    frames, height, width = grid
    plan = _core.WindowPlan(_core.LatentShape(frames, height, width), 0, _core.WindowSpec(window, False, 0))
    return [(plan.frame(f).near.begin, plan.frame(f).near.end) for f in range(frames)]


def frame_batches(near: list[tuple[int, int]]) -> list[FrameBatch]:
    """Groups query frames with one key span into runs, then runs of equal sizes whose starts
    advance evenly into batches (the interior frames: one batch; the two borders: one more)."""
    runs: list[tuple[int, int, int, int]] = []  # q_first, q_frames, k_first, k_frames
    for f, (a, b) in enumerate(near):
        if runs and (runs[-1][2], runs[-1][2] + runs[-1][3]) == (a, b) and runs[-1][0] + runs[-1][1] == f:
            q0, n, k0, kn = runs[-1]
            runs[-1] = (q0, n + 1, k0, kn)
        else:
            runs.append((f, 1, a, b - a))
    by_size: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for q0, n, k0, kn in runs:
        by_size.setdefault((n, kn), []).append((q0, k0))
    batches: list[FrameBatch] = []
    for (n, kn), starts in by_size.items():
        i = 0
        while i < len(starts):
            j = i + 1
            if j < len(starts):
                q_step, k_step = starts[j][0] - starts[i][0], starts[j][1] - starts[i][1]
                while j + 1 < len(starts) and (
                    starts[j + 1][0] - starts[j][0],
                    starts[j + 1][1] - starts[j][1],
                ) == (q_step, k_step):
                    j += 1
                j += 1
            else:
                q_step, k_step = n, kn
            batches.append(FrameBatch(j - i, starts[i][0], q_step, n, starts[i][1], k_step, kn))
            i = j
    return batches


def _view(x: torch.Tensor, b: int, count: int, first: int, step: int, length: int) -> torch.Tensor:
    """[count, heads, length, ...] windows of x[b] (tokens on dim 2), window i from first + i*step;
    windows may overlap (a read-only view for the inputs)."""
    strides = x.stride()
    shape = (count, x.shape[1], length, *x.shape[3:])
    return x.as_strided(
        shape,
        (step * strides[2], strides[1], strides[2], *strides[3:]),
        x.storage_offset() + b * strides[0] + first * strides[2],
    )


# Ops that refused a (device type, dtype, head dim): not tried again for it.
_failed_ops: set[tuple[str, str, torch.dtype, int]] = set()


def _lse_ops(device_type: str) -> list[tuple[str, SdpaFn]]:
    aten = torch.ops.aten

    def cudnn(
        q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        res = aten._scaled_dot_product_cudnn_attention(q, k, v, None, True, 0.0, False, False, scale=scale)
        return res[0], res[1]

    def flash(
        q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        res = aten._scaled_dot_product_flash_attention(q, k, v, 0.0, False, False, scale=scale)
        return res[0], res[1]

    def efficient(
        q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        res = aten._scaled_dot_product_efficient_attention(q, k, v, None, True, 0.0, False, scale=scale)
        return res[0], res[1]

    def cpu(
        q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        res = aten._scaled_dot_product_flash_attention_for_cpu(q, k, v, 0.0, False, scale=scale)
        return res[0], res[1]

    if device_type == "cuda":
        return [("cudnn", cudnn), ("flash", flash), ("efficient", efficient)]
    return [("cpu", cpu)]


def attention_with_lse(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fused SDPA that also returns the float32 [B, heads, Lq] log-sum-exp (natural log, scaled
    logits): the first of the platform's fused kernels that takes these inputs. Plain SDPA hides
    the LSE, so this uses ATen's fused-attention ops; when none serves the call it raises
    RuntimeError (the caller then takes another path)."""
    rows = q.shape[2]
    error: Exception | None = None
    for name, op in _lse_ops(q.device.type):
        key = (name, q.device.type, q.dtype, q.shape[-1])
        if key in _failed_ops:
            continue
        try:
            out, lse = op(q, k, v, scale)
        except (RuntimeError, NotImplementedError, AttributeError, TypeError) as exc:
            _failed_ops.add(key)
            error = exc
            continue
        if lse.dim() == 4:  # cuDNN: [B, heads, Lq, 1]
            lse = lse[..., 0]
        return out, lse[..., :rows].float()  # efficient attention pads Lq to a multiple of 32
    raise RuntimeError(f"no fused attention op with log-sum-exp for {q.dtype} on {q.device.type}: {error}")


def _merge_into(
    out: torch.Tensor, lse: torch.Tensor, extra_out: torch.Tensor, extra_lse: torch.Tensor
) -> None:
    """out, lse (views of the result, updated in place) <- their LSE merge with a partial over
    other keys. The two weights sum to one, so the merge is one in-place lerp of the output
    towards the partial (one pass over memory); the window partial is never empty, so its lse is
    finite."""
    merged = torch.logaddexp(lse, extra_lse)
    weight = torch.exp(extra_lse - merged).unsqueeze(-1).to(out.dtype)
    out.lerp_(extra_out, weight)
    lse.copy_(merged)


def frame_batched_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    grid: tuple[int, int, int],
    window: int,
    global_tokens: int,
    anchor_frame: bool,
    need_lse: bool,
    scale: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Window attention of validated [B, heads, T, D] tensors (no far field): (out, lse or None)."""
    frames, height, width = grid
    hw = height * width
    grid_tokens = frames * hw
    batch, heads, tokens, d = q.shape
    scale = 1.0 / math.sqrt(d) if scale is None else scale
    near = near_ranges(grid, window)
    anchor_from = next((f for f, (a, _) in enumerate(near) if anchor_frame and a > 0), frames)
    extras = anchor_from < frames or global_tokens > 0
    with_lse = need_lse or extras
    out = torch.empty_like(q)
    lse = torch.empty((batch, heads, tokens), dtype=torch.float32, device=q.device) if with_lse else None

    def attend(
        qv: torch.Tensor, kv: torch.Tensor, vv: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if with_lse:
            return attention_with_lse(qv, kv, vv, scale)
        return F.scaled_dot_product_attention(qv, kv, vv, scale=scale), None

    batches = frame_batches(near)
    for b in range(batch):
        for fb in batches:
            qv = _view(q, b, fb.count, fb.q_first * hw, fb.q_step * hw, fb.q_frames * hw)
            kv = _view(k, b, fb.count, fb.k_first * hw, fb.k_step * hw, fb.k_frames * hw)
            vv = _view(v, b, fb.count, fb.k_first * hw, fb.k_step * hw, fb.k_frames * hw)
            o, o_lse = attend(qv, kv, vv)
            _view(out, b, fb.count, fb.q_first * hw, fb.q_step * hw, fb.q_frames * hw).copy_(o)
            if lse is not None and o_lse is not None:
                _view(lse, b, fb.count, fb.q_first * hw, fb.q_step * hw, fb.q_frames * hw).copy_(o_lse)
        if not extras:
            continue
        assert lse is not None
        # Keys outside the windows: the anchor frame (for frames whose window misses it) and the
        # global tokens (for every grid query), as one partial per row range.
        spans: list[tuple[int, int, list[tuple[int, int]]]] = []
        globals_span = [(grid_tokens, tokens)] if global_tokens > 0 else []
        if anchor_from > 0 and globals_span:
            spans.append((0, anchor_from * hw, globals_span))
        if anchor_from < frames:
            spans.append((anchor_from * hw, grid_tokens, [(0, hw), *globals_span]))
        for r0, r1, keys in spans:
            if len(keys) == 1:
                k_extra, v_extra = (
                    k[b : b + 1, :, keys[0][0] : keys[0][1]],
                    v[b : b + 1, :, keys[0][0] : keys[0][1]],
                )
            else:  # one frame plus the global tokens: a small copy
                k_extra = torch.cat([k[b : b + 1, :, a:e] for a, e in keys], dim=2)
                v_extra = torch.cat([v[b : b + 1, :, a:e] for a, e in keys], dim=2)
            o, o_lse = attention_with_lse(q[b : b + 1, :, r0:r1], k_extra, v_extra, scale)
            _merge_into(out[b : b + 1, :, r0:r1], lse[b : b + 1, :, r0:r1], o, o_lse)
        # Global queries attend to every key.
        if global_tokens > 0:
            o, o_lse = attention_with_lse(q[b : b + 1, :, grid_tokens:], k[b : b + 1], v[b : b + 1], scale)
            out[b : b + 1, :, grid_tokens:] = o
            lse[b : b + 1, :, grid_tokens:] = o_lse
    return out, (lse if need_lse else None)
