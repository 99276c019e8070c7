"""One window-attention call, validated once: the C++ ``AttentionOptions`` plus the Python extras.

:class:`AttentionCall` holds what the C++ core's ``AttentionOptions`` holds (grid, global
tokens, window spec = K + anchor frame + far field, precision, scale) and what the Python layer
adds (the key subset of spatial freeze, whether the log-sum-exp is wanted). It is frozen and
hashable, checks its fields when built (ValueError naming the field) and checks tensors against
itself (:meth:`check_tensors`); every backend takes it instead of a list of keyword arguments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ltx2_efficient import _core

PRECISIONS: tuple[str, ...] = ("auto", "bf16", "fp16", "fp32", "fp8-far-field")
SUBSETS: tuple[str, ...] = ("all", "own_frame", "other_frames")
MAX_WINDOW = 256
MAX_FAR_FIELD = 16
MAX_GLOBAL_TOKENS = 1 << 20
DTYPES = (torch.float32, torch.float16, torch.bfloat16)
_CAST = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
_SUBSET_ENUM = {
    "all": _core.KeySubset.ALL,
    "own_frame": _core.KeySubset.OWN_FRAME,
    "other_frames": _core.KeySubset.OTHER_FRAMES,
}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_int(name: str, value: object, lo: int, hi: int, note: str = "") -> None:
    if not _is_int(value) or not lo <= value <= hi:  # type: ignore[operator]
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}]{note}, got {value!r}")


@dataclass(frozen=True)
class AttentionCall:
    """What one window-attention call computes (see ``torch_glue.attention`` for the semantics).

    ``window`` -1 is dense; ``far_field`` 0 is off; ``scale`` None is 1/sqrt(D).
    """

    grid: tuple[int, int, int]
    window: int
    global_tokens: int = 0
    anchor_frame: bool = False
    far_field: int = 0
    precision: str = "auto"
    scale: float | None = None
    subset: str = "all"
    need_lse: bool = False

    def __post_init__(self) -> None:
        grid = self.grid
        if (
            not isinstance(grid, (tuple, list))
            or len(grid) != 3
            or not all(_is_int(x) and x >= 1 for x in grid)
        ):
            raise ValueError(f"grid must be (F, H, W) with integers >= 1, got {grid!r}")
        object.__setattr__(self, "grid", tuple(int(x) for x in grid))
        _check_int("global_tokens", self.global_tokens, 0, MAX_GLOBAL_TOKENS)
        _check_int("window", self.window, -1, MAX_WINDOW, " (-1 = dense)")
        _check_int("far_field", self.far_field, 0, MAX_FAR_FIELD, " (0 = off)")
        if not isinstance(self.anchor_frame, bool):
            raise ValueError(f"anchor_frame must be True or False, got {self.anchor_frame!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {' '.join(PRECISIONS)}, got {self.precision!r}")
        if self.subset not in SUBSETS:
            raise ValueError(f"subset must be one of {' '.join(SUBSETS)}, got {self.subset!r}")
        if self.scale is not None and (
            isinstance(self.scale, bool)
            or not isinstance(self.scale, (int, float))
            or not (math.isfinite(self.scale) and 0.0 < self.scale <= 1e6)
        ):
            raise ValueError(f"scale must be a number in (0, 1e6] or None (1/sqrt(D)), got {self.scale!r}")
        if not isinstance(self.need_lse, bool):
            raise ValueError(f"need_lse must be True or False, got {self.need_lse!r}")

    @property
    def tokens(self) -> int:
        """T of the tensors this call takes: the grid's tokens plus the global ones."""
        frames, height, width = self.grid
        return frames * height * width + self.global_tokens

    @property
    def far_8bit(self) -> bool:
        """Whether the pooled far-field logits come from 8-bit queries and keys."""
        return self.precision == "fp8-far-field" and self.far_field > 0

    def compute_dtype(self, dtype: torch.dtype) -> torch.dtype:
        """The dtype q, k and v are cast to before any backend runs."""
        return _CAST.get(self.precision, dtype)

    def check_tensors(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> None:
        """ValueError naming the tensor unless q, k, v are [B, heads, T, D] alike for this call."""
        for name, t in (("q", q), ("k", k), ("v", v)):
            if not isinstance(t, torch.Tensor):
                raise ValueError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
        if q.dim() != 4:
            raise ValueError(f"q must be [B, heads, T, D], got shape {tuple(q.shape)}")
        if min(q.shape) < 1:
            raise ValueError(f"q must have B, heads, T and D >= 1, got shape {tuple(q.shape)}")
        if q.dtype not in DTYPES:
            raise ValueError(f"q dtype must be float32, float16 or bfloat16, got {q.dtype}")
        for name, t in (("k", k), ("v", v)):
            if t.shape != q.shape:
                raise ValueError(f"{name} must have the shape of q {tuple(q.shape)}, got {tuple(t.shape)}")
            if t.dtype != q.dtype:
                raise ValueError(f"{name} dtype must match q ({q.dtype}), got {t.dtype}")
            if t.device != q.device:
                raise ValueError(f"{name} must be on q's device ({q.device}), got {t.device}")
        if q.shape[2] != self.tokens:
            raise ValueError(
                f"q has T = {q.shape[2]} tokens, but grid {self.grid} plus {self.global_tokens} global "
                f"tokens needs {self.tokens}"
            )

    def core_options(self) -> dict[str, object]:
        """The keyword arguments of ``_core.window_attention`` (its AttentionOptions)."""
        return {
            "grid": self.grid,
            "global_tokens": self.global_tokens,
            "window": self.window,
            "anchor_frame": self.anchor_frame,
            "far_field": self.far_field,
            "precision": _core.Precision.FP8_FAR_FIELD if self.far_8bit else _core.Precision.AUTO,
            "scale": 0.0 if self.scale is None else float(self.scale),
            "subset": _SUBSET_ENUM[self.subset],
        }

    def describe(self, q: torch.Tensor) -> str:
        """A short label of the call for logs."""
        frames, height, width = self.grid
        return (
            f"{frames}x{height}x{width}+{self.global_tokens} K={self.window} p={self.far_field} "
            f"{tuple(q.shape)} {q.dtype}"
        )
