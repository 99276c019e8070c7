"""The video self-attention callable that hosts install: temporal-window attention on a known grid.

:class:`WindowedSelfAttention` has ltx-core's attention-callable signature
``(q, k, v, heads, mask=None) -> out`` on ``[B, T, heads * D]`` tensors, where the first
``F * H * W`` tokens are the latent grid in frame-major order and the last ``global_tokens`` are
appended conditioning tokens. The grid changes per model call (keyframe phase vs refine phase),
so the host sets it before each forward with :meth:`WindowedSelfAttention.set_grid` (or passes
it to the constructor when fixed).

What runs:
- window off (``settings.window == -1``, or ``window_on`` False: a step outside the window's
  step range or a block the schedule keeps dense): the dense callable (``dense``, default
  PyTorch SDPA);
- a mask given (e.g. ltx-core's attention-strength conditioning): dense with the mask, since the
  windowed kernels take none; counted in ``stats.masked_dense_calls``;
- otherwise window attention (``torch_glue.attention.attend``) with the settings' window, anchor
  frame, far field and precision (K >= F - 1 is dense attention to rounding); under torch.compile
  through the ``ltx2eff::window_attention`` custom op, which the compiler keeps as one node.

With ``chunk_tokens`` set (activation budget), the dense path runs over query chunks.
Every call updates :class:`AttentionStats` (calls, query-key pairs computed vs dense), which the
run report turns into the attention pair fraction.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ltx2_efficient import _core
from ltx2_efficient.sampler.chunking import chunked_attention
from ltx2_efficient.sampler.settings import EfficientSettings
from ltx2_efficient.torch_glue.attention_call import AttentionCall

AttentionFn = Callable[..., torch.Tensor]


def sdpa_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, mask: torch.Tensor | None = None
) -> torch.Tensor:
    """Dense attention on ``[B, T, heads * D]`` with PyTorch SDPA (an additive or boolean mask)."""
    b, tq, width = q.shape
    d = width // heads
    qh, kh, vh = (t.view(b, -1, heads, d).transpose(1, 2) for t in (q, k, v))
    if mask is not None:
        while mask.dim() < 4:
            mask = mask.unsqueeze(0 if mask.dim() < 3 else 1)
    out = torch.nn.functional.scaled_dot_product_attention(qh, kh, vh, attn_mask=mask)
    return out.transpose(1, 2).reshape(b, tq, heads * d)


@dataclass
class AttentionStats:
    """What the patched self-attention did, summed over calls (pairs include the batch)."""

    calls: int = 0
    windowed_calls: int = 0
    dense_calls: int = 0
    masked_dense_calls: int = 0
    pairs: float = 0.0  # query-key pairs computed (exact + pooled far field)
    dense_pairs: float = 0.0  # pairs dense attention would have computed
    backends: set[str] = field(default_factory=set)
    # Head-wise windows (window_head_recall > 0): heads windowed / heads measured, over calls.
    heads_windowed: int = 0
    heads_measured: int = 0

    @property
    def windowed_head_share(self) -> float | None:
        """Share of the measured heads that windowed (None without head-wise windows)."""
        return self.heads_windowed / self.heads_measured if self.heads_measured else None

    @property
    def pair_fraction(self) -> float:
        """Share of dense attention's query-key pairs computed (1.0 when dense)."""
        return self.pairs / self.dense_pairs if self.dense_pairs > 0 else 1.0

    def merge(self, other: AttentionStats) -> None:
        self.calls += other.calls
        self.windowed_calls += other.windowed_calls
        self.dense_calls += other.dense_calls
        self.masked_dense_calls += other.masked_dense_calls
        self.pairs += other.pairs
        self.dense_pairs += other.dense_pairs
        self.backends |= other.backends
        self.heads_windowed += other.heads_windowed
        self.heads_measured += other.heads_measured


class WindowedSelfAttention:
    """Video self-attention with the settings' temporal window (see the module docstring).

    Args:
        settings: the knobs (window, anchor_frame, far_field, precision).
        grid: (F, H, W) of the latent grid, or None to set it per call with :meth:`set_grid`.
        global_tokens: appended conditioning tokens after the grid.
        dense: the dense attention callable used when the window is off or a mask is given
            (the module's original attention function; default PyTorch SDPA).
        chunk_tokens: query chunk of the dense path under an activation budget (None = whole).
        stats: where to count calls and pairs (a fresh :class:`AttentionStats` by default).
    """

    def __init__(
        self,
        settings: EfficientSettings,
        *,
        grid: tuple[int, int, int] | None = None,
        global_tokens: int = 0,
        dense: AttentionFn | None = None,
        chunk_tokens: int | None = None,
        stats: AttentionStats | None = None,
    ) -> None:
        if not isinstance(settings, EfficientSettings):
            raise ValueError(f"settings must be an EfficientSettings, got {type(settings).__name__}")
        self.settings = settings
        self.dense = dense if dense is not None else sdpa_attention
        self.chunk_tokens = chunk_tokens
        self.stats = stats if stats is not None else AttentionStats()
        self._grid: tuple[int, int, int] | None = None
        self._global_tokens = 0
        self._pairs_cache: dict[tuple[int, int, int, int], tuple[float, float]] = {}
        self._calls: dict[tuple[int, int, int, int], AttentionCall] = {}
        # Read from the settings once: what torch.compile traces in __call__ is plain Python.
        self._window_enabled = settings.window_enabled
        self._head_recall = float(settings.window_head_recall)
        self._recall_masks: dict[tuple[object, ...], tuple[torch.Tensor, torch.Tensor]] = {}
        # The step schedule turns the window off on dense steps; a dense block keeps it off.
        self.window_on = True
        if grid is not None:
            self.set_grid(grid, global_tokens)

    @property
    def grid(self) -> tuple[int, int, int] | None:
        return self._grid

    @property
    def global_tokens(self) -> int:
        return self._global_tokens

    def set_grid(self, grid: tuple[int, int, int] | None, global_tokens: int = 0) -> None:
        """Sets the latent grid (F, H, W) and appended token count of the next calls."""
        if grid is None:
            self._grid = None
            self._global_tokens = 0
            return
        if len(grid) != 3 or any(isinstance(g, bool) or not isinstance(g, int) or g < 1 for g in grid):
            raise ValueError(f"grid must be three integers (F, H, W) >= 1, got {grid!r}")
        if isinstance(global_tokens, bool) or not isinstance(global_tokens, int) or global_tokens < 0:
            raise ValueError(f"global_tokens must be an integer >= 0, got {global_tokens!r}")
        self._grid = (int(grid[0]), int(grid[1]), int(grid[2]))
        self._global_tokens = global_tokens
        # Planned here, outside the model's forward, so that a compiled forward only looks up.
        for windowed in (False, True) if self._window_enabled else (False,):
            self._pairs(self._grid, global_tokens, windowed)
        if self._window_enabled:
            self._call(self._grid, global_tokens)

    def _pairs(self, grid: tuple[int, int, int], global_tokens: int, windowed: bool) -> tuple[float, float]:
        key = (*grid, global_tokens if windowed else -1 - global_tokens)
        cached = self._pairs_cache.get(key)
        if cached is None:
            spec = self.settings.window_spec if windowed else _core.WindowSpec()
            counts = _core.WindowPlan(_core.LatentShape(*grid), global_tokens, spec).pairs()
            cached = (float(counts.exact + counts.pooled), float(counts.dense))
            self._pairs_cache[key] = cached
        return cached

    def _call(self, grid: tuple[int, int, int], global_tokens: int) -> AttentionCall:
        """The window-attention call of the settings on this grid (built once per grid)."""
        key = (*grid, global_tokens)
        call = self._calls.get(key)
        if call is None:
            s = self.settings
            call = AttentionCall(grid, s.window, global_tokens, s.anchor_frame, s.far_field, s.precision)
            self._calls[key] = call
        return call

    def _dense(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, mask: torch.Tensor | None
    ) -> torch.Tensor:
        if self.chunk_tokens is not None:
            return chunked_attention(self.dense, q, k, v, heads, self.chunk_tokens, mask)
        return self.dense(q, k, v, heads, mask)

    def __call__(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        b, tokens, width = q.shape
        self.stats.calls += 1
        grid = self._grid
        if grid is not None:
            expected = math.prod(grid) + self._global_tokens
            if tokens != expected or k.shape[1] != tokens:
                raise ValueError(
                    f"video self-attention got {tokens} query and {k.shape[1]} key tokens, but the grid "
                    f"{grid} + {self._global_tokens} global tokens has {expected}"
                )
        windowed = self._window_enabled and self.window_on and mask is None and grid is not None
        if grid is not None:
            pairs, dense_pairs = self._pairs(grid, self._global_tokens, windowed)
            self.stats.dense_pairs += dense_pairs * b
            if not (windowed and self._head_recall > 0):  # head-wise calls count their own
                self.stats.pairs += pairs * b
        else:
            self.stats.pairs += float(tokens) * tokens * b
            self.stats.dense_pairs += float(tokens) * tokens * b
        if not windowed:
            if self._window_enabled and self.window_on and grid is None:
                raise ValueError("grid must be set (set_grid) before windowed video self-attention runs")
            self.stats.dense_calls += 1
            if mask is not None:
                self.stats.masked_dense_calls += 1
            self.stats.backends.add("dense")
            return self._dense(q, k, v, heads, mask)

        d = width // heads
        qh, kh, vh = (t.view(b, tokens, heads, d).transpose(1, 2) for t in (q, k, v))
        call = self._call(grid, self._global_tokens)
        self.stats.windowed_calls += 1
        if self._head_recall > 0:
            out = self._headwise(qh, kh, vh, call)
            return out.transpose(1, 2).reshape(b, tokens, width)
        if torch.compiler.is_compiling():
            # One opaque node for torch.compile: the dispatcher runs inside it at run time.
            from ltx2_efficient.torch_glue.attention_op import call_op

            out = call_op(qh, kh, vh, call)
            self.stats.backends.add("custom-op")
        else:
            from ltx2_efficient.torch_glue.attention import attend

            result = attend(qh, kh, vh, call)
            out = result.out
            self.stats.backends.add(result.backend)
        return out.transpose(1, 2).reshape(b, tokens, width)

    @torch.compiler.disable
    def _headwise(
        self, qh: torch.Tensor, kh: torch.Tensor, vh: torch.Tensor, call: AttentionCall
    ) -> torch.Tensor:
        """Window attention on the heads that keep ``window_head_recall`` of their mass inside
        the window, dense attention on the others (``[B, heads, T, D]``; run eagerly: the split
        depends on the data)."""
        from ltx2_efficient.torch_glue.attention import attend
        from ltx2_efficient.torch_glue.head_recall import split_heads

        split = split_heads(qh, kh, call, self._head_recall, self._recall_masks)
        b, heads, tokens, _ = qh.shape
        windowed_pairs, dense_pairs = self._pairs(call.grid, call.global_tokens, True)
        n = int(split.windowed.numel())
        self.stats.heads_windowed += n
        self.stats.heads_measured += heads
        # Per head: its share of the call's pairs, plus the sampled rows scored over every key.
        self.stats.pairs += b * (
            (n * windowed_pairs + (heads - n) * dense_pairs) / heads + split.sampled_queries * tokens
        )
        if n == heads:
            result = attend(qh, kh, vh, call)
            self.stats.backends.add(result.backend)
            return result.out
        self.stats.backends.add("dense")
        if n == 0:
            return self._dense_heads(qh, kh, vh)
        out = torch.empty_like(qh)
        parts = [t.index_select(1, split.windowed) for t in (qh, kh, vh)]
        result = attend(*parts, call)
        out[:, split.windowed] = result.out
        out[:, split.dense] = self._dense_heads(*(t.index_select(1, split.dense) for t in (qh, kh, vh)))
        self.stats.backends.add(result.backend)
        return out

    def _dense_heads(self, qh: torch.Tensor, kh: torch.Tensor, vh: torch.Tensor) -> torch.Tensor:
        """``[B, h, T, D]`` heads through the host's dense attention (its function, the activation
        budget's query chunks), which takes ``[B, T, h * D]``."""
        b, h, tokens, d = qh.shape
        q, k, v = (t.transpose(1, 2).reshape(b, tokens, h * d) for t in (qh, kh, vh))
        return self._dense(q, k, v, h, None).view(b, tokens, h, d).transpose(1, 2)
