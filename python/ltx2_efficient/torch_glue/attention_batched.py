"""Frame-batched window attention: the window plan as a few batched SDPA calls on in-place views.

With shifted windows every query frame attends the same number of key frames, and the key span
of query frame f starts one frame after that of f - 1 (inside the borders). So the interior query
frames form one batch whose keys are *overlapping* strided views of the K/V tensors
(``as_strided``: batch stride one frame, length 2K + 1 frames): one SDPA call for all of them,
reading K/V in place, with no gathered copies. The border frames (the first and last K + 1 share
one key span each) form a second batch of two (the batching is the C++ core's ``frame_batches``
of the window plan). The platform's fused attention kernel (cuDNN or
FlashAttention on a GPU) then runs at its full efficiency, and a call costs two launches instead
of one per query frame, which is what the per-frame loop of ``attention_fallback`` pays for on
small grids.

Keys outside a frame's window run as extra partial attentions merged by log-sum-exp: frame 0
for the frames whose window does not hold it (``anchor_frame``), and the appended global tokens.
Global queries attend to all keys in one call. The far field and the key subsets of spatial
freeze are not handled here (``supports`` says so; the caller takes another path).

Each batch writes its output and log-sum-exp straight into the result when an in-place executor
serves it (``cudnn_graph.attend_into``: cuDNN's graph API takes the result's strided frame views
as its output); otherwise ATen's fused op computes it and the batch is copied into place.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ltx2_efficient import _core
from ltx2_efficient.torch_glue import cudnn_graph
from ltx2_efficient.torch_glue.attention_call import AttentionCall
from ltx2_efficient.torch_glue.nan_propagation import keep_nan, keep_nan_with_lse

SdpaFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float], tuple[torch.Tensor, torch.Tensor]]
# (q, k, v, out, lse or None, scale) -> True when it wrote out (and lse) in place.
InPlaceFn = Callable[
    [torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None, float], bool
]


def supports(call: AttentionCall) -> str | None:
    """None when the frame-batched path computes this call, else why not."""
    if call.far_field > 0 or call.far_8bit:
        return "the far field (far_field > 0) is not batched"
    if call.subset != "all":
        return f"key subset {call.subset!r} is not batched"
    return None


def _plan(grid: tuple[int, int, int], window: int, anchor_frame: bool) -> _core.WindowPlan:
    frames, height, width = grid
    return _core.WindowPlan(
        _core.LatentShape(frames, height, width), 0, _core.WindowSpec(window, anchor_frame, 0)
    )


def frame_batches(grid: tuple[int, int, int], window: int) -> list[_core.FrameBatch]:
    """The plan's query frames as batches with evenly advancing key spans (C++ ``frame_batches``:
    the interior frames one batch, the two borders another)."""
    return list(_core.frame_batches(_plan(grid, window, False)))


def _first_anchored(plan: _core.WindowPlan) -> int:
    """The first query frame the plan adds the anchor frame to (F when none): with shifted windows
    those frames run to the last one."""
    frames = plan.grid.frames
    return next((f for f in range(frames) if plan.frame(f).anchor), frames)


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
        # Efficient attention pads Lq to a multiple of 32.
        return keep_nan_with_lse(out, lse[..., :rows].float(), q, k)
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
    call: AttentionCall,
    *,
    in_place: InPlaceFn | None = cudnn_graph.attend_into,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``call`` on validated [B, heads, T, D] tensors (one that ``supports``): (out, lse or None).
    ``in_place`` serves a batch directly into the result's views when it can (None: never)."""
    if (reason := supports(call)) is not None:
        raise ValueError(f"frame-batched attention cannot run this call: {reason}")
    grid, global_tokens, need_lse = call.grid, call.global_tokens, call.need_lse
    frames, height, width = grid
    hw = height * width
    grid_tokens = frames * hw
    batch, heads, tokens, d = q.shape
    scale = 1.0 / math.sqrt(d) if call.scale is None else call.scale
    plan = _plan(grid, call.window, call.anchor_frame)
    first_anchored = _first_anchored(plan)
    extras = first_anchored < frames or global_tokens > 0
    with_lse = need_lse or extras
    out = torch.empty_like(q)
    lse = torch.empty((batch, heads, tokens), dtype=torch.float32, device=q.device) if with_lse else None

    def attend(
        qv: torch.Tensor, kv: torch.Tensor, vv: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if with_lse:
            return attention_with_lse(qv, kv, vv, scale)
        return keep_nan(F.scaled_dot_product_attention(qv, kv, vv, scale=scale), qv, kv), None

    batches = list(_core.frame_batches(plan))
    for b in range(batch):
        for fb in batches:
            q_at = (b, fb.count, fb.q_first * hw, fb.q_step * hw, fb.q_frames * hw)
            k_at = (b, fb.count, fb.k_first * hw, fb.k_step * hw, fb.k_frames * hw)
            qv, kv, vv = _view(q, *q_at), _view(k, *k_at), _view(v, *k_at)
            out_view = _view(out, *q_at)
            lse_view = _view(lse, *q_at) if lse is not None else None
            if in_place is not None and in_place(qv, kv, vv, out_view, lse_view, scale):
                continue
            o, o_lse = attend(qv, kv, vv)
            out_view.copy_(o)
            if lse_view is not None and o_lse is not None:
                lse_view.copy_(o_lse)
        if not extras:
            continue
        assert lse is not None
        # Keys outside the windows: the anchor frame (for frames whose window misses it) and the
        # global tokens (for every grid query), as one partial per row range.
        spans: list[tuple[int, int, list[tuple[int, int]]]] = []
        globals_span = [(grid_tokens, tokens)] if global_tokens > 0 else []
        if first_anchored > 0 and globals_span:
            spans.append((0, first_anchored * hw, globals_span))
        if first_anchored < frames:
            spans.append((first_anchored * hw, grid_tokens, [(0, hw), *globals_span]))
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
