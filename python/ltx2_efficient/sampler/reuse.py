"""Online step reuse for one modality, decided by the C++ ``ReusePolicy`` from cheap norms.

One :class:`StepReuse` per modality (video and audio decide separately) and per sampling phase.
Per step the host calls :meth:`StepReuse.begin_step` once with the modality's model input; it
returns True when the step may reuse. Then, for every model call of the step (``key`` tells the
calls apart: "cond", "uncond", "perturbed"...), either :meth:`StepReuse.reuse` gives the
stand-in output or the host computes the output and hands it to :meth:`StepReuse.record`.
:meth:`StepReuse.__call__` does both in one line::

    reuse = StepReuse.from_settings(settings, steps=len(sigmas) - 1, modality="video")
    for i in range(steps):
        reuse.begin_step(i, x)
        cond = reuse(x, lambda: model(x, ctx), key="cond")
        uncond = reuse(x, lambda: model(x, neg), key="uncond")

What a reused step returns (``mode``):
- "output" (default, for velocity or denoised predictions): the last computed output of that
  call, unchanged. Flow-matching velocities change slowly late in a run, which is what makes
  this safe there.
- "transform" (EasyCache's rule): the current input plus the last computed transformation
  ``output - input`` of that call, for models whose output lives in the input's space.

The policy itself (warm-up share, last step, consecutive cap, threshold on the accumulated
predicted change ``k * ||dx|| / ||x||``) is in cpp/include/ltx2eff/reuse_policy.hpp. The first
call key recorded in a computed step (normally "cond") measures the rate k.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

import torch

from ltx2_efficient import _core
from ltx2_efficient.sampler.settings import EfficientSettings

MODES: tuple[str, ...] = ("output", "transform")


def relative_change(new: torch.Tensor, old: torch.Tensor) -> float:
    """``||new - old|| / ||old||`` in float32 (0 when both are zero)."""
    diff = torch.linalg.vector_norm((new.detach().float() - old.detach().float()).flatten())
    base = torch.linalg.vector_norm(old.detach().float().flatten())
    d = float(diff)
    b = float(base)
    if b == 0.0:
        return 0.0 if d == 0.0 else float("inf")
    return d / b


@dataclass
class ReuseSummary:
    """What one modality's reuse did in a phase."""

    modality: str
    mode: str
    steps: int
    computed: int = 0
    reused: int = 0
    by_reason: dict[str, int] = field(default_factory=dict)
    decisions: list[tuple[int, bool, str]] = field(default_factory=list)  # (step, reused, reason)


@dataclass
class _Cached:
    x: torch.Tensor
    out: torch.Tensor


class StepReuse:
    """Step-reuse controller for one modality (see the module docstring)."""

    def __init__(
        self,
        steps: int,
        *,
        reuse_start: float = 1.0,
        threshold: float = 0.0,
        max_consecutive: int = 0,
        modality: str = "video",
        mode: str = "output",
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {' '.join(MODES)}, got {mode!r}")
        if not isinstance(modality, str) or not modality:
            raise ValueError(f"modality must be a non-empty string, got {modality!r}")
        config = _core.ReusePolicyConfig(
            steps=steps, reuse_start=reuse_start, threshold=threshold, max_consecutive_reuse=max_consecutive
        )
        self._policy = _core.ReusePolicy(config)
        self.modality = modality
        self.mode = mode
        self.steps = steps
        self._step = -1
        self._reusing = False
        self._prev_input: torch.Tensor | None = None
        self._cache: dict[Hashable, _Cached] = {}
        self._primary: Hashable | None = None
        self._rate_recorded_step = -1
        self.shape_changes = 0  # steps whose input was batched differently from the previous one
        self._decisions: list[tuple[int, bool, str]] = []

    @classmethod
    def from_settings(
        cls, settings: EfficientSettings, steps: int, modality: str = "video", mode: str = "output"
    ) -> StepReuse:
        """A controller with the settings' reuse_start, reuse_threshold and max_consecutive_reuse."""
        return cls(
            steps,
            reuse_start=settings.reuse_start,
            threshold=settings.reuse_threshold,
            max_consecutive=settings.max_consecutive_reuse,
            modality=modality,
            mode=mode,
        )

    # ---- per step ----

    @property
    def enabled(self) -> bool:
        return bool(self._policy.enabled)

    @property
    def step(self) -> int:
        """The step last begun (-1 before the first)."""
        return self._step

    @property
    def reusing(self) -> bool:
        """Whether the current step reuses."""
        return self._reusing

    def begin_step(self, step: int, x: torch.Tensor) -> bool:
        """Decides step ``step`` (once each, in increasing order) from the input ``x``.

        Returns True when the step reuses. Calling it again for the current step returns the
        same decision without deciding twice.
        """
        if step == self._step:
            return self._reusing
        if not isinstance(x, torch.Tensor):
            raise ValueError(f"x must be a tensor, got {type(x).__name__}")
        change = 0.0
        if self._prev_input is not None:
            if self._prev_input.shape != x.shape:
                # The host batched the step's calls differently (ComfyUI splits cond and uncond
                # when memory is short): nothing cached fits, so this step is computed.
                self._cache.clear()
                self.shape_changes += 1
                change = float("inf")
            else:
                change = relative_change(x, self._prev_input) if self._policy.enabled else 0.0
        if not torch.isfinite(torch.tensor(change)):
            change = 1e9  # a non-finite change forces a recompute through the threshold
        decision = self._policy.decide(step, change)
        self._step = step
        reason = decision.reason
        self._reusing = bool(decision.reuse)
        if self._reusing and not self._cache:
            # Nothing cached fits this step: tell the policy, so that its cap and accumulated
            # prediction follow what actually ran.
            self._policy.computed_instead()
            self._reusing = False
            reason = _core.ReuseReason.NO_CACHED_OUTPUT
        self._decisions.append((step, self._reusing, _core.reuse_reason_name(reason)))
        self._prev_input = x.detach().clone() if self._policy.enabled else None
        self._primary = None
        return self._reusing

    def can_reuse(self, key: Hashable = "cond") -> bool:
        return self._reusing and key in self._cache

    def reuse(self, x: torch.Tensor, key: Hashable = "cond") -> torch.Tensor:
        """The stand-in output of call ``key`` for the current (reused) step."""
        if not self._reusing:
            raise RuntimeError(f"step {self._step} of {self.modality} is computed, not reused")
        cached = self._cache.get(key)
        if cached is None:
            raise KeyError(f"no computed output for call {key!r} of {self.modality} yet")
        if self.mode == "transform":
            return (x.float() + (cached.out.float() - cached.x.float())).to(cached.out.dtype)
        return cached.out.clone()

    def record(self, x: torch.Tensor, output: torch.Tensor, key: Hashable = "cond") -> None:
        """Stores the computed output of call ``key``; the step's first key measures the rate."""
        if self._primary is None:
            self._primary = key
        previous = self._cache.get(key)
        if previous is not None and previous.x.shape != x.shape:
            previous = None  # a differently batched call: no rate to measure against it
        if key == self._primary and previous is not None and self._rate_recorded_step != self._step:
            in_change = relative_change(x, previous.x)
            out_change = relative_change(output, previous.out)
            if torch.isfinite(torch.tensor([in_change, out_change])).all():
                self._policy.record_computed(in_change, out_change)
            self._rate_recorded_step = self._step
        self._cache[key] = _Cached(x=x.detach().clone(), out=output.detach().clone())

    def __call__(
        self, x: torch.Tensor, compute: Callable[[], torch.Tensor], key: Hashable = "cond"
    ) -> torch.Tensor:
        """Reuses call ``key`` when the current step reuses and it has a cached output, else
        computes it with ``compute()`` and records it. Call :meth:`begin_step` first."""
        if self._step < 0:
            raise RuntimeError("begin_step() must be called before the first call of a step")
        if self.can_reuse(key):
            return self.reuse(x, key)
        out = compute()
        self.record(x, out, key)
        return out

    def release(self) -> None:
        """Drops the cached outputs (after a length change they can never be reused, and after an
        out-of-memory error they must not hold memory); the decisions made are kept."""
        self._cache.clear()

    # ---- results ----

    @property
    def transformation_rate(self) -> float:
        return float(self._policy.transformation_rate)

    def summary(self) -> ReuseSummary:
        """Counts of computed and reused steps and why."""
        reused = sum(1 for _, r, _ in self._decisions if r)
        by_reason: dict[str, int] = {}
        for _, _, reason in self._decisions:
            by_reason[reason] = by_reason.get(reason, 0) + 1
        return ReuseSummary(
            modality=self.modality,
            mode=self.mode,
            steps=self.steps,
            computed=len(self._decisions) - reused,
            reused=reused,
            by_reason=by_reason,
            decisions=list(self._decisions),
        )
