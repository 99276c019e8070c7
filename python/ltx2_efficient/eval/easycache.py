"""The EasyCache step-reuse rule (ComfyUI core's EasyCache node), an equal-cost baseline.

The published rule, with its defaults (threshold 0.2, active from 15% to 95% of the run, inputs
and outputs subsampled 8x8 for the change estimates). Per step, the first call (the conditional
one) decides for every call of the step:

- input change ``dx = mean|x - x_prev|`` against the input of the last computed step;
- predicted output change ``k * dx / mean|out_prev|`` with the transformation rate
  ``k = mean|out - out_prev| / mean|x - x_prev|`` measured between the last two computed steps;
- the predicted changes accumulate; while the sum stays below the threshold the step is skipped
  and every call returns its input plus the last computed transformation ``out - x`` of that
  call; otherwise the sum resets and the step is computed.

Before the start the steps are computed and measured; after the end they are computed without
updating the cache. ComfyUI reads start and end as fractions of the model's sigma curve; here
they are fractions of the run's schedule (the same for a schedule that follows that curve).
Tokens are subsampled by 64 along the sequence (the 8 x 8 spatial subsampling's share).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

DEFAULT_THRESHOLD = 0.2
DEFAULT_START = 0.15
DEFAULT_END = 0.95
SUBSAMPLE = 64


def _mean_abs(t: torch.Tensor) -> float:
    return float(t.detach().float().abs().mean())


@dataclass
class EasyCache:
    """One run's EasyCache state (a ``StepCache`` for ``efficient_denoise``)."""

    threshold: float = DEFAULT_THRESHOLD
    start: float = DEFAULT_START
    end: float = DEFAULT_END
    skipped: int = 0  # steps skipped
    steps: int = 0
    _active: bool = False
    _past_end: bool = False
    _skip: bool = False
    _decided: bool = False
    _rate: float | None = None
    _cumulative: float = 0.0
    _x_prev: torch.Tensor | None = None
    _out_prev: torch.Tensor | None = None
    _out_prev_norm: float | None = None
    _input_change: float | None = None
    _diffs: dict[str, torch.Tensor] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold <= 3.0:
            raise ValueError(f"threshold must be in [0, 3], got {self.threshold}")
        if not 0.0 <= self.start <= self.end <= 1.0:
            raise ValueError(
                f"start and end must satisfy 0 <= start <= end <= 1, got {self.start}, {self.end}"
            )

    def begin_step(self, step: int, sigma: float, steps: int) -> None:
        del sigma  # the window is read as a share of the run's steps
        self.steps = steps
        progress = step / steps
        self._past_end = progress >= self.end
        self._active = self.start <= progress < self.end
        self._skip = False
        self._decided = False
        self._input_change = None

    def _sub(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, ::SUBSAMPLE].detach().float()

    def _decide(self, x: torch.Tensor) -> None:
        self._decided = True
        if not self._active:
            return
        if self._x_prev is not None and self._x_prev.shape == self._sub(x).shape:
            self._input_change = _mean_abs(self._sub(x) - self._x_prev)
        if self._rate is not None and self._out_prev_norm and self._input_change is not None:
            self._cumulative += self._rate * self._input_change / self._out_prev_norm
            if self._cumulative < self.threshold and self._diffs:
                self._skip = True
                self.skipped += 1
                return
            self._cumulative = 0.0

    def call(
        self, key: str, x: torch.Tensor, compute: Callable[[], torch.Tensor]
    ) -> tuple[torch.Tensor, bool]:
        """The velocity of call ``key`` on input ``x`` and whether it was computed."""
        first = not self._decided
        if first:
            self._decide(x)
        if self._skip and key in self._diffs:
            return (x.float() + self._diffs[key]).to(x.dtype), False
        out = compute()
        if self._past_end:
            return out, True
        if first:
            if self._out_prev is not None and self._input_change:
                self._rate = _mean_abs(self._sub(out) - self._out_prev) / self._input_change
            self._x_prev = self._sub(x)
            self._out_prev = self._sub(out)
            self._out_prev_norm = _mean_abs(out)
        self._diffs[key] = out.detach().float() - x.detach().float()
        return out, True
