"""Video self-attention over one rank's latent frames, with the halo from its neighbours.

:class:`FrameParallelSelfAttention` has ltx-core's attention-callable signature
``(q, k, v, heads, mask=None) -> out`` on the rank's local tokens ``[B, T_local, heads * D]``
(its own frames of the grid, then every global token). It computes exactly what single-process
window attention computes for those queries:

1. the halo exchange starts (its neighbours' K/V frames in flight) and the anchor frame arrives;
2. frames whose window lies inside the rank's own frames are computed from local K/V alone,
   while the halo travels;
3. the border frames (windows reaching into the halo) are computed once the halo is in;
4. global queries see every rank's keys: each rank computes their attention over its own grid
   keys (rank 0 adds the global keys), and the partials are merged by log-sum-exp.

Steps 2 and 3 call :func:`~ltx2_efficient.torch_glue.attention.window_attention` on a contiguous
buffer of key frames whose borders are either the grid's borders or lie outside every query
window, so each query's window there is its window in the whole grid; frame 0 joins as global keys
where the buffer does not start at it.
"""

from __future__ import annotations

import math

import torch
import torch.distributed as dist

from ltx2_efficient import _core
from ltx2_efficient.parallel.halo_exchange import ExchangeStats, HaloExchange
from ltx2_efficient.parallel.rank_layout import RankLayout
from ltx2_efficient.torch_glue.attention import merge_attention, window_attention


def partial_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention of ``[B, heads, Tq, D]`` queries over a key subset: (out float32, lse float32)."""
    d = q.shape[-1]
    if k.shape[2] == 0:
        out = torch.zeros(q.shape, dtype=torch.float32, device=q.device)
        return out, torch.full(q.shape[:3], -math.inf, dtype=torch.float32, device=q.device)
    scores = torch.matmul(q.float(), k.float().transpose(-1, -2)) / math.sqrt(d)
    lse = torch.logsumexp(scores, dim=-1)
    out = torch.matmul(torch.exp(scores - lse[..., None]), v.float())
    return out, lse


def cross_rank_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    group: dist.ProcessGroup | None,
    stats: ExchangeStats | None = None,
) -> torch.Tensor:
    """Queries held by every rank over keys split across ranks: ``[B, heads, Tq, D]`` in q's dtype.

    Each rank passes its own share of the keys; the per-rank partials are all-gathered and merged
    by log-sum-exp, so every rank returns the attention over all ranks' keys.
    """
    out, lse = partial_attention(q, k, v)
    world = dist.get_world_size(group)
    outs = [torch.empty_like(out) for _ in range(world)]
    lses = [torch.empty_like(lse) for _ in range(world)]
    dist.all_gather(outs, out.contiguous(), group=group)
    dist.all_gather(lses, lse.contiguous(), group=group)
    if stats is not None:
        stats.gather_bytes += (world - 1) * (out.numel() + lse.numel()) * 4
    merged, merged_lse = outs[0], lses[0]
    for o, s in zip(outs[1:], lses[1:], strict=True):
        merged, merged_lse = merge_attention(merged, merged_lse, o, s, backend="torch")
    return merged.to(q.dtype)


def to_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    b, t, width = x.shape
    return x.view(b, t, heads, width // heads).transpose(1, 2)


class FrameParallelSelfAttention:
    """The video self-attention of one rank (see the module docstring).

    The host sets the rank's layout before each forward (:meth:`set_layout`). ``window = -1``
    (dense) makes every frame a border frame: the halo is then every other rank's frames, which is
    the all-gather baseline.
    """

    def __init__(
        self,
        *,
        window: int,
        anchor_frame: bool = False,
        precision: str = "auto",
        backend: str | None = None,
        group: dist.ProcessGroup | None = None,
        exchange: HaloExchange | None = None,
    ) -> None:
        self.window = window
        self.anchor_frame = anchor_frame and window != _core.WINDOW_OFF
        self.precision = precision
        self.backend = backend
        self.group = group
        self.exchange = exchange if exchange is not None else HaloExchange(group)
        self.layout: RankLayout | None = None

    def set_layout(self, layout: RankLayout) -> None:
        self.layout = layout

    def _windows(self, layout: RankLayout) -> list[tuple[int, int]]:
        frames = layout.grid[0]
        begin, end = layout.owned
        out = []
        for f in range(begin, end):
            r = _core.window_range(f, frames, self.window)
            out.append((r.begin, r.end))
        return out

    def _buffer_attention(
        self,
        layout: RankLayout,
        queries: tuple[int, int],
        buffer: tuple[int, int],
        q_own: torch.Tensor,
        kv: torch.Tensor,
        kv_first: int,
        extras: torch.Tensor,
        anchor: torch.Tensor | None,
    ) -> torch.Tensor:
        """Outputs of query frames ``queries`` from key frames ``buffer`` (kv starts at ``kv_first``)."""
        hw = layout.tokens_per_frame
        begin, _ = layout.owned
        lo, hi = buffer
        k = kv[0][:, :, (lo - kv_first) * hw : (hi - kv_first) * hw]
        v = kv[1][:, :, (lo - kv_first) * hw : (hi - kv_first) * hw]
        extra_k, extra_v = extras[0], extras[1]
        native_anchor = self.anchor_frame and lo == 0
        if self.anchor_frame and lo > 0:
            assert anchor is not None
            extra_k, extra_v = torch.cat((anchor[0], extra_k), dim=2), torch.cat((anchor[1], extra_v), dim=2)
        q = torch.zeros(
            (*q_own.shape[:2], k.shape[2] + extra_k.shape[2], q_own.shape[3]),
            dtype=q_own.dtype,
            device=q_own.device,
        )
        qa, qb = queries
        q[:, :, (qa - lo) * hw : (qb - lo) * hw] = q_own[:, :, (qa - begin) * hw : (qb - begin) * hw]
        out = window_attention(
            q,
            torch.cat((k, extra_k), dim=2),
            torch.cat((v, extra_v), dim=2),
            grid=(hi - lo, layout.grid[1], layout.grid[2]),
            window=self.window,
            global_tokens=extra_k.shape[2],
            anchor_frame=native_anchor,
            precision=self.precision,
            backend=self.backend,
        )
        assert isinstance(out, torch.Tensor)
        return out[:, :, (qa - lo) * hw : (qb - lo) * hw]

    def __call__(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        layout = self.layout
        if layout is None:
            raise RuntimeError(
                "FrameParallelSelfAttention has no layout: the host must call set_layout first"
            )
        if mask is not None:
            raise ValueError(
                "frame-parallel attention takes no attention mask (attention-strength conditioning)"
            )
        if q.shape[1] != layout.local_tokens:
            raise ValueError(f"q must hold this rank's {layout.local_tokens} tokens, got {q.shape[1]}")
        qh, kh, vh = (to_heads(t, heads) for t in (q, k, v))
        g = layout.global_tokens
        grid_tokens = qh.shape[2] - g
        q_own = qh[:, :, :grid_tokens]
        kv_own = torch.stack((kh[:, :, :grid_tokens], vh[:, :, :grid_tokens])).contiguous()
        globals_kv = torch.stack((kh[:, :, grid_tokens:], vh[:, :, grid_tokens:]))
        pending = self.exchange.start(layout, kv_own, anchor_frame=self.anchor_frame)
        anchor = pending.anchor()
        out_grid = self._grid_outputs(layout, q_own, kv_own, globals_kv, anchor, pending)
        parts = [out_grid]
        if g > 0:
            keys_k = kh if layout.rank == 0 else kh[:, :, :grid_tokens]
            keys_v = vh if layout.rank == 0 else vh[:, :, :grid_tokens]
            parts.append(
                cross_rank_attention(
                    qh[:, :, grid_tokens:], keys_k, keys_v, group=self.group, stats=self.exchange.stats
                )
            )
        out = torch.cat(parts, dim=2) if len(parts) > 1 else out_grid
        b, _, t, d = out.shape
        return out.transpose(1, 2).reshape(b, t, heads * d)

    def _grid_outputs(
        self,
        layout: RankLayout,
        q_own: torch.Tensor,
        kv_own: torch.Tensor,
        globals_kv: torch.Tensor,
        anchor: torch.Tensor | None,
        pending: object,
    ) -> torch.Tensor:
        begin, end = layout.owned
        hw = layout.tokens_per_frame
        windows = self._windows(layout)
        inside = [lo >= begin and hi <= end for lo, hi in windows]
        out = torch.empty_like(q_own)
        # Interior frames first, from local K/V alone, while the halo is in flight.
        for qa, qb in _runs(inside, begin, want=True):
            lo = min(windows[f - begin][0] for f in range(qa, qb))
            hi = max(windows[f - begin][1] for f in range(qa, qb))
            out[:, :, (qa - begin) * hw : (qb - begin) * hw] = self._buffer_attention(
                layout, (qa, qb), (lo, hi), q_own, kv_own, begin, globals_kv, anchor
            )
        border = list(_runs(inside, begin, want=False))
        if border:
            keys = pending.keys()  # type: ignore[attr-defined]
            first = layout.keys[0]
            for qa, qb in border:
                lo = min(windows[f - begin][0] for f in range(qa, qb))
                hi = max(windows[f - begin][1] for f in range(qa, qb))
                out[:, :, (qa - begin) * hw : (qb - begin) * hw] = self._buffer_attention(
                    layout, (qa, qb), (lo, hi), q_own, keys, first, globals_kv, anchor
                )
        else:
            pending.keys()  # type: ignore[attr-defined]  # complete the sends
        return out


def _runs(flags: list[bool], offset: int, *, want: bool) -> list[tuple[int, int]]:
    """Maximal runs ``[a, b)`` (offset added) where ``flags`` equals ``want``."""
    runs, start = [], None
    for i, flag in enumerate([*flags, not want]):
        if flag == want and start is None:
            start = i
        elif flag != want and start is not None:
            runs.append((start + offset, i + offset))
            start = None
    return runs
