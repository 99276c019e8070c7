"""One window-attention call, validated once: the C++ ``AttentionOptions`` plus the Python extras.

:class:`AttentionCall` holds what the C++ core's ``AttentionOptions`` holds (grid, global
tokens, window spec = K + anchor frame + far field, precision, scale) and what the Python layer
adds (the key subset of spatial freeze, whether the log-sum-exp is wanted). It is frozen and
hashable, checks its fields when built (ValueError naming the field) and checks tensors against
itself (:meth:`check_tensors`); every backend takes it instead of a list of keyword arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ltx2_efficient import _core

# The precision choices are the core's "precision" knob row; window, far field and precision are
# checked by the core's knob rows (_core.check_knob), the grid and the global-token count by the
# core's token layout, so every limit and message here is the core's.
PRECISIONS: tuple[str, ...] = tuple(
    next(row["choices"] for row in _core.knob_table() if row["name"] == "precision")
)
SUBSETS: tuple[str, ...] = ("all", "own_frame", "other_frames")
DTYPES = (torch.float32, torch.float16, torch.bfloat16)
_CAST = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
_SUBSET_ENUM = {
    "all": _core.KeySubset.ALL,
    "own_frame": _core.KeySubset.OWN_FRAME,
    "other_frames": _core.KeySubset.OTHER_FRAMES,
}


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_layout(grid: object, global_tokens: object) -> tuple[int, int, int]:
    """The grid as a tuple, after the core's checks of the latent grid and the global-token count
    (``TokenLayout``: the limits the C++ kernel and every window plan apply)."""
    if not isinstance(grid, (tuple, list)) or len(grid) != 3 or not all(_is_int(x) for x in grid):
        raise ValueError(f"grid must be (F, H, W) with three integers, got {grid!r}")
    if not _is_int(global_tokens):
        raise ValueError(f"global_tokens must be an integer, got {global_tokens!r}")
    try:
        shape = _core.LatentShape(*grid)
    except TypeError:  # past the binding's integer range
        raise ValueError(f"grid must be a latent grid (F, H, W) the core accepts, got {grid!r}") from None
    try:
        _core.validate_latent_shape(shape)
    except ValueError as error:
        raise ValueError(f"grid must be a latent grid (F, H, W) the core accepts: {error}") from None
    try:
        _core.TokenLayout(shape, global_tokens)
    except TypeError:
        raise ValueError(
            f"global_tokens must be an integer the core accepts, got {global_tokens!r}"
        ) from None
    return (int(grid[0]), int(grid[1]), int(grid[2]))


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
        object.__setattr__(self, "grid", _check_layout(self.grid, self.global_tokens))
        for knob in ("window", "anchor_frame", "far_field", "precision"):
            _core.check_knob(knob, getattr(self, knob))  # InvalidArgument (a ValueError) naming it
        if self.subset not in SUBSETS:
            raise ValueError(f"subset must be one of {' '.join(SUBSETS)}, got {self.subset!r}")
        if self.scale is not None and (
            isinstance(self.scale, bool)
            or not isinstance(self.scale, (int, float))
            or not (_core.MIN_ATTENTION_SCALE <= self.scale <= _core.MAX_ATTENTION_SCALE)
        ):
            raise ValueError(
                f"scale must be a number in [{_core.MIN_ATTENTION_SCALE:g}, {_core.MAX_ATTENTION_SCALE:g}] "
                f"or None (1/sqrt(D)), got {self.scale!r}"
            )
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
