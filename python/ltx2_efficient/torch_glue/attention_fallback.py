"""The torch path of window attention: chunked SDPA with the semantics of the C++ kernels.

Used on any device when the C++ kernels cannot serve a call (no CUDA build, an unsupported head
dim or dtype on the GPU) or when forced (``LTX2EFF_ATTENTION_BACKEND=torch``). Query frames whose
key sets are identical (NATTEN-style shifted windows make the first and last K + 1 frames share
one) run as one call. Keys are taken as in-place views where the key frames are contiguous.
Where they are not (the anchor frame or the global tokens beside a window), a group's keys are
gathered into a small rolling buffer (:class:`_KeyBuffer`): attention does not depend on the
order of the keys, so moving from one query frame to the next replaces only the frame that left
the window instead of copying the whole key set again. The pooled far field is concatenated
when a group needs it; its ``+ log(count)`` logit bias is an additive float mask.

Plain SDPA returns no log-sum-exp, so when it is asked for (and for the 8-bit far field, which
needs different query rows for pooled keys) the group runs as explicit float32 math over query
chunks of bounded size instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ltx2_efficient import _core
from ltx2_efficient.torch_glue.attention_call import AttentionCall
from ltx2_efficient.torch_glue.nan_propagation import keep_nan

# Score matrices of the explicit (LSE) path are kept under this many bytes per chunk.
_MATH_CHUNK_BYTES = 128 << 20


@dataclass(frozen=True)
class KeySet:
    """The keys one query frame (or the global queries) attends to, in frame units."""

    exact: tuple[tuple[int, int], ...]  # sorted, non-touching [begin, end) frame ranges
    global_keys: bool  # the appended global tokens
    far: tuple[tuple[int, int], ...]  # runs of frames seen through pooled keys

    @property
    def empty(self) -> bool:
        return not self.exact and not self.global_keys and not self.far


def _runs(frames: list[int]) -> tuple[tuple[int, int], ...]:
    """[0, 1, 2, 5] -> ((0, 3), (5, 6))."""
    runs: list[list[int]] = []
    for f in sorted(frames):
        if runs and runs[-1][1] == f:
            runs[-1][1] = f + 1
        else:
            runs.append([f, f + 1])
    return tuple((a, b) for a, b in runs)


def key_sets(call: AttentionCall) -> tuple[list[KeySet], KeySet]:
    """Key sets of every query frame and of the global queries for the call's subset of its
    window plan.

    subset "all" is the window plan; "own_frame" keeps each grid query's own frame only (global
    queries see nothing); "other_frames" is the plan minus the own frame (global queries see all).
    """
    frames, height, width = call.grid
    global_tokens, far_field, subset = call.global_tokens, call.far_field, call.subset
    plan = _core.WindowPlan(
        _core.LatentShape(frames, height, width),
        global_tokens,
        _core.WindowSpec(call.window, call.anchor_frame, far_field),
    )
    sets: list[KeySet] = []
    for f in range(frames):
        fp = plan.frame(f)
        exact = set(range(fp.near.begin, fp.near.end))
        if fp.anchor:
            exact.add(0)
        far = list(fp.far) if far_field > 0 else []
        if subset == "own_frame":
            exact, far = {f}, []
        elif subset == "other_frames":
            exact.discard(f)
        sets.append(KeySet(_runs(list(exact)), global_tokens > 0 and subset != "own_frame", _runs(far)))
    global_set = (
        KeySet((), False, ()) if subset == "own_frame" else KeySet(((0, frames),), global_tokens > 0, ())
    )
    return sets, global_set


def _pool(x: torch.Tensor, grid: tuple[int, int, int], p: int) -> tuple[torch.Tensor, torch.Tensor]:
    """p x p average pool of the grid tokens of x [B, heads, T, D] -> float32 [B, heads, F*cells, D],
    and log(token count) of every pooled key (edge cells hold fewer tokens)."""
    frames, height, width = grid
    b, heads, _, d = x.shape
    cells_h, cells_w = -(-height // p), -(-width // p)
    tokens = x[:, :, : frames * height * width].float().reshape(b, heads, frames, height, width, d)
    padded = F.pad(tokens, (0, 0, 0, cells_w * p - width, 0, cells_h * p - height))
    sums = padded.reshape(b, heads, frames, cells_h, p, cells_w, p, d).sum(dim=(4, 6))
    count_h = torch.tensor([min(p, height - i * p) for i in range(cells_h)], dtype=torch.float32)
    count_w = torch.tensor([min(p, width - j * p) for j in range(cells_w)], dtype=torch.float32)
    counts = (count_h[:, None] * count_w[None, :]).to(x.device)
    pooled = (sums / counts[None, None, None, :, :, None]).reshape(b, heads, frames * cells_h * cells_w, d)
    log_count = counts.log().reshape(-1).repeat(frames)
    return pooled, log_count


def quantize_rows_8bit(x: torch.Tensor) -> torch.Tensor:
    """Symmetric per-row int8 quantisation of the last dim, returned dequantised (float32)."""
    x = x.float()
    step = x.abs().amax(dim=-1, keepdim=True) / 127.0
    step = torch.where(step > 0, step, torch.ones_like(step))
    return torch.clamp(torch.round(x / step), -127.0, 127.0) * step


def _slices(ks: KeySet, hw: int, grid_tokens: int, tokens: int) -> list[tuple[int, int]]:
    spans = [(a * hw, b * hw) for a, b in ks.exact]
    if ks.global_keys:
        spans.append((grid_tokens, tokens))
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and merged[-1][1] == a:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return merged


def _take(x: torch.Tensor, spans: list[tuple[int, int]]) -> torch.Tensor:
    """Token spans of x [B, heads, T, D]: a view when there is one span, else one copy."""
    if len(spans) == 1:
        return x[:, :, spans[0][0] : spans[0][1]]
    return torch.cat([x[:, :, a:b] for a, b in spans], dim=2)


class _KeyBuffer:
    """Gathered keys and values of groups whose key frames are not contiguous in the input.

    Layout ``[global tokens | slot 0 | slot 1 | ...]`` with one latent frame per slot; a group's
    keys are the prefix ``[global | slots 0 .. n-1]``, in whatever order its frames sit in the
    slots. Consecutive query frames share all but one key frame, so a new group copies only the
    frames it needs that are not already in the prefix. Copies and attention calls are ordered
    on one stream, so refilling a slot never races the call that read it.
    """

    def __init__(self, k: torch.Tensor, v: torch.Tensor, hw: int, grid_tokens: int, slots: int) -> None:
        self.k_src, self.v_src, self.hw = k, v, hw
        self.global_span = (grid_tokens, k.shape[2])
        self.globals = k.shape[2] - grid_tokens
        b, heads, _, d = k.shape
        size = self.globals + slots * hw
        self.k = torch.empty((b, heads, size, d), dtype=k.dtype, device=k.device)
        self.v = torch.empty_like(self.k)
        self.slots: list[int | None] = [None] * slots
        self.globals_in = False
        self.copied_frames = 0  # frame copies made (for tests and tuning)

    def _copy(self, dst: tuple[int, int], src: tuple[int, int]) -> None:
        self.k[:, :, dst[0] : dst[1]].copy_(self.k_src[:, :, src[0] : src[1]])
        self.v[:, :, dst[0] : dst[1]].copy_(self.v_src[:, :, src[0] : src[1]])

    def keys(self, ks: KeySet) -> tuple[torch.Tensor, torch.Tensor]:
        """Views of the buffer holding exactly ``ks``'s exact frames (and global tokens if any)."""
        frames = [f for a, b in ks.exact for f in range(a, b)]
        n = len(frames)
        if n > len(self.slots):
            raise AssertionError(f"key buffer has {len(self.slots)} slots, a group needs {n}")
        if ks.global_keys and not self.globals_in:
            self._copy((0, self.globals), self.global_span)
            self.globals_in = True
        wanted = set(frames)
        kept: set[int] = set()
        refill: list[int] = []  # prefix slots holding nothing useful (or a frame twice)
        for i in range(n):
            f = self.slots[i]
            if f is not None and f in wanted and f not in kept:
                kept.add(f)
            else:
                refill.append(i)
        base = self.globals
        for i, f in zip(refill, [f for f in frames if f not in kept], strict=True):
            start = base + i * self.hw
            self._copy((start, start + self.hw), (f * self.hw, (f + 1) * self.hw))
            self.slots[i] = f
            self.copied_frames += 1
        # Without global keys the prefix must start at slot 0: use a view past the globals.
        begin = 0 if ks.global_keys else self.globals
        end = base + n * self.hw
        return self.k[:, :, begin:end], self.v[:, :, begin:end]


class _Pooled:
    """The far field of one call: pooled K/V of every frame, built on first use."""

    def __init__(self, k: torch.Tensor, v: torch.Tensor, grid: tuple[int, int, int], p: int) -> None:
        self.k, self.log_count = _pool(k, grid, p)
        self.v, _ = _pool(v, grid, p)
        self.cells = self.k.shape[2] // grid[0]

    def take(self, runs: tuple[tuple[int, int], ...]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        spans = [(a * self.cells, b * self.cells) for a, b in runs]
        bias = torch.cat([self.log_count[a:b] for a, b in spans])
        return _take(self.k, spans), _take(self.v, spans), bias


def _attend_math(
    q: torch.Tensor,
    k_exact: torch.Tensor | None,
    v_exact: torch.Tensor | None,
    k_far: torch.Tensor | None,
    v_far: torch.Tensor | None,
    bias: torch.Tensor | None,
    scale: float,
    far_8bit: bool,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Explicit float32 attention over [exact keys, pooled keys]; returns (out float32, lse)."""
    b, heads, n, _ = q.shape
    keys = (k_exact.shape[2] if k_exact is not None else 0) + (k_far.shape[2] if k_far is not None else 0)
    chunk = max(1, _MATH_CHUNK_BYTES // max(1, 4 * b * heads * keys))
    kf = k_exact.float() if k_exact is not None else None
    vf = v_exact.float() if v_exact is not None else None
    k_far_q = quantize_rows_8bit(k_far) if (far_8bit and k_far is not None) else k_far
    values = torch.cat([t for t in (vf, v_far) if t is not None], dim=2)
    outs, lses = [], []
    for start in range(0, n, chunk):
        qc = q[:, :, start : start + chunk].float()
        parts = []
        if kf is not None:
            parts.append(qc @ kf.transpose(-1, -2) * scale)
        if k_far_q is not None and bias is not None:
            q_far = quantize_rows_8bit(qc * scale) if far_8bit else qc * scale
            parts.append(q_far @ k_far_q.transpose(-1, -2) + bias)
        logits = torch.cat(parts, dim=-1)
        lse = torch.logsumexp(logits, dim=-1)
        outs.append(torch.exp(logits - lse[..., None]) @ values)
        lses.append(lse)
    return torch.cat(outs, dim=2), torch.cat(lses, dim=2)


def torch_window_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, call: AttentionCall
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``call`` on validated [B, heads, T, D] tensors; (out in q's dtype, lse or None)."""
    grid, global_tokens, subset = call.grid, call.global_tokens, call.subset
    need_lse, far_8bit = call.need_lse, call.far_8bit
    frames, height, width = grid
    hw = height * width
    grid_tokens = frames * hw
    b, heads, tokens, d = q.shape
    scale = 1.0 / math.sqrt(d) if call.scale is None else call.scale
    sets, global_set = key_sets(call)
    out = torch.empty(q.shape, dtype=q.dtype, device=q.device)
    lse = torch.empty((b, heads, tokens), dtype=torch.float32, device=q.device) if need_lse else None
    pooled = _Pooled(k, v, grid, call.far_field) if any(s.far for s in sets) else None
    scattered = [s for s in sets if len(_slices(s, hw, grid_tokens, tokens)) > 1]
    buffer = None
    if scattered:
        slots = max(sum(b - a for a, b in s.exact) for s in scattered)
        buffer = _KeyBuffer(k, v, hw, grid_tokens, slots)

    def attend(rows: tuple[int, int], ks: KeySet) -> None:
        r0, r1 = rows
        if ks.empty:  # no keys: contributes nothing to a merge
            out[:, :, r0:r1] = 0
            if lse is not None:
                lse[:, :, r0:r1] = -math.inf
            return
        spans = _slices(ks, hw, grid_tokens, tokens)
        if len(spans) > 1 and buffer is not None:
            k_exact, v_exact = buffer.keys(ks)
        else:
            k_exact = _take(k, spans) if spans else None
            v_exact = _take(v, spans) if spans else None
        k_far = v_far = bias = None
        if ks.far and pooled is not None:
            k_far, v_far, bias = pooled.take(ks.far)
        qs = q[:, :, r0:r1]
        if need_lse or (far_8bit and k_far is not None):
            o, o_lse = _attend_math(qs, k_exact, v_exact, k_far, v_far, bias, scale, far_8bit)
            out[:, :, r0:r1] = o.to(q.dtype)
            if lse is not None:
                lse[:, :, r0:r1] = o_lse
            return
        mask = None
        if k_far is not None and v_far is not None and bias is not None:
            exact_keys = k_exact.shape[2] if k_exact is not None else 0
            k_exact = torch.cat([t for t in (k_exact, k_far.to(q.dtype)) if t is not None], dim=2)
            v_exact = torch.cat([t for t in (v_exact, v_far.to(q.dtype)) if t is not None], dim=2)
            mask = torch.cat([torch.zeros(exact_keys, device=q.device), bias]).to(q.dtype)
            mask = mask.view(1, 1, 1, -1).expand(1, 1, r1 - r0, -1)
        fused = F.scaled_dot_product_attention(qs, k_exact, v_exact, attn_mask=mask, scale=scale)
        out[:, :, r0:r1] = keep_nan(fused, qs, k_exact)

    everything = KeySet(((0, frames),), global_tokens > 0, ())
    if subset == "all" and all(s == everything for s in sets):
        attend((0, tokens), everything)  # dense: one call for every query
    else:
        f0 = 0
        for f in range(1, frames + 1):
            if f == frames or sets[f] != sets[f0]:
                attend((f0 * hw, f * hw), sets[f0])
                f0 = f
        if global_tokens > 0:
            attend((grid_tokens, tokens), global_set)
    return out, lse
