"""The knob grid ``ltx2eff eval`` sweeps: structured families rather than the full product.

Every point is a complete set of knob values on top of preset "off", so a point means the same
thing whatever the presets currently say; the current presets are evaluated as extra points.

Families (full grid):
- stride 1: window (dense, 1, 2, 4, 6) x far field (0, 4) x reuse threshold (off, 0.05, 0.1, 0.2);
- keyframes: stride (2, 3, 4) x interpolation (lerp, motion) x refine (2 @ 0.35, 3 @ 0.35, 5 @ 0.5),
  with window 2 + anchor + far field 4 and reuse at 0.08;
- keyframes alone: stride (2, 4) with dense attention and no reuse, refine (3 @ 0.35, 5 @ 0.5, 8 @ 0.7);
- reuse aggressiveness at stride 2: threshold (0.15, 0.3) x cap (2, 3); slerp at stride 2;
- reuse reach at stride 1: window (dense, 6, 4 + far 4, 2 + far 4) x cap (3, 4, 6, 8), reusing from
  15% of the steps at threshold 0.3.

``--grid phased`` (the step-phased techniques against both equal-cost baselines) is what the
presets are tuned on now. ``--grid reuse`` sweeps where step reuse starts, its cap and threshold; ``--grid window`` window
K (1, 2, 4) with and without the anchor frame and the far field; ``--grid heads`` head-wise
windows (only the heads that keep a share of their attention inside the window).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PRESETS = ("quality", "balanced", "fast", "laptop")
REUSE_BASE = {"reuse_start": 0.3, "max_consecutive_reuse": 2}
KEYFRAME_BASE = {"window": 2, "anchor_frame": True, "far_field": 4, "reuse_threshold": 0.08, **REUSE_BASE}


FAMILIES = ("sampler", "fewer-steps", "easycache")
"""Row families: the sampler's settings, and the two equal-cost baselines (dense with fewer
steps; ComfyUI's EasyCache rule at a threshold), each drawn as its own curve."""


@dataclass(frozen=True)
class GridPoint:
    """A named knob setting: ``preset`` plus ``overrides`` (EfficientSettings.from_preset);
    baselines set ``steps`` (dense with fewer steps) or ``easycache`` (its threshold)."""

    label: str
    overrides: dict[str, Any] = field(default_factory=dict)
    preset: str = "off"
    steps: int | None = None
    easycache: float | None = None

    @property
    def family(self) -> str:
        if self.steps is not None:
            return "fewer-steps"
        return "easycache" if self.easycache is not None else "sampler"

    def settings(self, regime: str = "dev") -> Any:
        from ltx2_efficient.sampler.settings import EfficientSettings

        return EfficientSettings.from_preset(self.preset, regime, **self.overrides)


def baselines(steps: int) -> list[GridPoint]:
    """Dense with fewer steps (from about 85% of ``steps`` down to 30%) and EasyCache at its
    default threshold 0.2 and a sweep around it (cautious ones reach the presets' costs)."""
    counts = sorted(
        {max(2, round(steps * share)) for share in (0.85, 0.8, 0.7, 0.6, 0.5, 0.45, 0.4, 0.35, 0.3)},
        reverse=True,
    )
    points = [GridPoint(f"dense {n} steps", steps=n) for n in counts if n < steps]
    points += [GridPoint(f"easycache {t:g}", easycache=t) for t in (0.02, 0.05, 0.1, 0.2, 0.3, 0.5)]
    return points


def _bottleneck(stride: int, start: float, end: float) -> dict[str, Any]:
    return {"frame_stride": stride, "keyframe_mode": "bottleneck", "keyframe_start": start,
            "keyframe_end": end, "interpolation": "motion"}  # fmt: skip


BALANCED_REUSE = {"reuse_start": 0.3, "reuse_threshold": 0.1, "max_consecutive_reuse": 2}
FAST_REUSE = {"reuse_start": 0.2, "reuse_threshold": 0.1, "max_consecutive_reuse": 2}


def phased_grid(steps: int = 20) -> list[GridPoint]:
    """Step-phased techniques: windows late in the run (with dense first/last blocks), keyframes
    as a temporal bottleneck alone and with the balanced and fast reuse, refine mode for
    reference, the presets, and the two baselines."""
    points = []
    for window, start in ((1, 0.5), (2, 0.5), (1, 0.7)):
        overrides: dict[str, Any] = {"window": window, "anchor_frame": True, "window_start": start}
        points.append(GridPoint(f"K{window} from{start:.0%}", overrides))
    points.append(
        GridPoint("K2 from50% dense2+1", {"window": 2, "anchor_frame": True, "window_start": 0.5,
                                          "dense_first_blocks": 2, "dense_last_blocks": 1})
    )  # fmt: skip
    for stride, start, end in (
        (2, 0.1, 0.5),
        (2, 0.2, 0.6),
        (2, 0.2, 0.8),
        (2, 0.3, 0.9),
        (3, 0.2, 0.8),
        (4, 0.2, 0.8),
    ):
        points.append(
            GridPoint(f"s{stride} bottleneck {start:.0%}-{end:.0%}", _bottleneck(stride, start, end))
        )
    for stride, start, end in ((2, 0.2, 0.6), (2, 0.2, 0.8), (2, 0.1, 0.9), (3, 0.2, 0.8)):
        points.append(
            GridPoint(f"s{stride} bottleneck {start:.0%}-{end:.0%} +reuse30%x2",
                      {**_bottleneck(stride, start, end), **BALANCED_REUSE})
        )  # fmt: skip
    for stride, start, end in ((3, 0.2, 0.8), (3, 0.1, 0.9), (4, 0.2, 0.8), (4, 0.1, 0.9)):
        points.append(
            GridPoint(f"s{stride} bottleneck {start:.0%}-{end:.0%} +reuse20%x2",
                      {**_bottleneck(stride, start, end), **FAST_REUSE})
        )  # fmt: skip
    points.append(
        GridPoint("s3 bottleneck 20%-80% +reuse30%x2 +K1 from70%",
                  {**_bottleneck(3, 0.2, 0.8), **BALANCED_REUSE, "window": 1, "anchor_frame": True,
                   "window_start": 0.7})
    )  # fmt: skip
    points.append(
        GridPoint("s2 refine3@0.35 (refine mode)", {"frame_stride": 2, "interpolation": "motion",
                                                    "refine_steps": 3, "refine_strength": 0.35})
    )  # fmt: skip
    points += [GridPoint(f"preset {name}", preset=name) for name in ("quality", "balanced", "fast")]
    # Baselines first, then the compositions and presets: a run stopped early keeps what matters.
    first = [p for p in points if "+reuse" in p.label or p.label.startswith("preset")]
    return baselines(steps) + first + [p for p in points if p not in first]


def _stride_one(
    windows: tuple[int, ...], fars: tuple[int, ...], thresholds: tuple[float, ...]
) -> list[GridPoint]:
    points = []
    for window in windows:
        for far in fars if window >= 0 else (0,):
            for threshold in thresholds:
                overrides: dict[str, Any] = {"window": window, "far_field": far, "anchor_frame": window >= 0}
                if threshold > 0:
                    overrides.update(REUSE_BASE, reuse_threshold=threshold)
                w = "dense" if window < 0 else f"K{window}" + (f"+far{far}" if far else "")
                r = f"reuse{threshold:g}" if threshold > 0 else "noreuse"
                points.append(GridPoint(f"s1 {w} {r}", overrides))
    return points


def _keyframes(
    strides: tuple[int, ...], interpolations: tuple[str, ...], refines: tuple[tuple[int, float], ...]
) -> list[GridPoint]:
    points = []
    for stride in strides:
        for interpolation in interpolations:
            for steps, strength in refines:
                overrides = {
                    **KEYFRAME_BASE,
                    "frame_stride": stride,
                    "interpolation": interpolation,
                    "refine_steps": steps,
                    "refine_strength": strength,
                }
                points.append(GridPoint(f"s{stride} {interpolation} refine{steps}@{strength:g}", overrides))
    return points


def full_grid() -> list[GridPoint]:
    points = _stride_one((-1, 1, 2, 4, 6), (0, 4), (0.0, 0.05, 0.1, 0.2))
    points += _keyframes((2, 3, 4), ("lerp", "motion"), ((2, 0.35), (3, 0.35), (5, 0.5)))
    for stride in (2, 4):
        for steps, strength in ((3, 0.35), (5, 0.5), (8, 0.7)):
            overrides = {
                "frame_stride": stride,
                "interpolation": "motion",
                "refine_steps": steps,
                "refine_strength": strength,
            }
            points.append(
                GridPoint(f"s{stride} motion refine{steps}@{strength:g} dense-attn noreuse", overrides)
            )
    for threshold in (0.15, 0.3):
        for cap in (2, 3):
            overrides = {
                **KEYFRAME_BASE,
                "frame_stride": 2,
                "interpolation": "motion",
                "refine_steps": 3,
                "refine_strength": 0.35,
                "reuse_threshold": threshold,
                "max_consecutive_reuse": cap,
            }
            points.append(GridPoint(f"s2 motion refine3@0.35 reuse{threshold:g}x{cap}", overrides))
    points += _keyframes((2,), ("slerp",), ((3, 0.35),))
    points += _reuse_caps()
    points += [GridPoint(f"preset {name}", preset=name) for name in PRESETS]
    return points


def _reuse_caps() -> list[GridPoint]:
    """Stride 1, how far step reuse can go: reuse from 15% of the steps, caps 3 to 8."""
    points = []
    for window, far in ((-1, 0), (6, 0), (4, 4), (2, 4)):
        for cap in (3, 4, 6, 8):
            overrides: dict[str, Any] = {
                "window": window,
                "far_field": far,
                "anchor_frame": window >= 0,
                "reuse_start": 0.15,
                "reuse_threshold": 0.3,
                "max_consecutive_reuse": cap,
            }
            w = "dense" if window < 0 else f"K{window}" + (f"+far{far}" if far else "")
            points.append(GridPoint(f"s1 {w} reuse0.3 from15% x{cap}", overrides))
    return points


def reuse_sweep_grid(steps: int = 20) -> list[GridPoint]:
    """Stride 1, dense attention: where step reuse starts, how many in a row and at what
    threshold (the finer sweep the balanced and fast presets were chosen from), after the two
    equal-cost baselines at ``steps``."""
    points = baselines(steps)
    for start, cap, threshold in (
        (0.5, 1, 0.1), (0.4, 1, 0.1), (0.35, 1, 0.1), (0.3, 1, 0.1), (0.25, 1, 0.05), (0.25, 1, 0.1),
        (0.25, 1, 0.2), (0.2, 1, 0.05), (0.2, 1, 0.1), (0.15, 1, 0.1), (0.4, 2, 0.1), (0.3, 2, 0.1),
        (0.2, 2, 0.1), (0.3, 3, 0.3), (0.3, 4, 0.3), (0.25, 3, 0.3), (0.2, 3, 0.2), (0.2, 3, 0.3),
        (0.2, 4, 0.3), (0.15, 3, 0.3),
    ):  # fmt: skip
        overrides = {"reuse_start": start, "max_consecutive_reuse": cap, "reuse_threshold": threshold}
        points.append(GridPoint(f"s1 dense reuse{threshold:g} from{start:.0%} x{cap}", overrides))
    points += [GridPoint(f"preset {name}", preset=name) for name in PRESETS]
    return points


def window_sweep_grid() -> list[GridPoint]:
    """Stride 1, no reuse: window K with and without the anchor frame (and with the far field),
    the fidelity side of the end-to-end window runs (bench/e2e.py "window*" techniques)."""
    points = []
    for window in (1, 2, 4):
        for anchor in (True, False):
            for far in (0, 4):
                overrides: dict[str, Any] = {"window": window, "anchor_frame": anchor, "far_field": far}
                label = f"s1 K{window}{' +anchor' if anchor else ''}{f' +far{far}' if far else ''} noreuse"
                points.append(GridPoint(label, overrides))
    return points


def head_window_grid(steps: int = 20) -> list[GridPoint]:
    """Head-wise windows (window_head_recall): only the heads keeping that share of their
    attention mass inside a +-K window window; K x recall x the step the window starts, after
    the two equal-cost baselines at ``steps``."""
    points = baselines(steps)
    for window in (1, 2):
        for recall in (0.5, 0.7):
            for start in (0.0, 0.5):
                overrides = {"window": window, "anchor_frame": True, "window_head_recall": recall,
                             "window_start": start}  # fmt: skip
                points.append(GridPoint(f"K{window} heads>={recall:.0%} from{start:.0%}", overrides))
    return points


def quick_grid() -> list[GridPoint]:
    """A handful of points across the families (seconds, for smoke runs and CI)."""
    points = _stride_one((-1, 2), (4,), (0.0, 0.1))
    points += _keyframes((2,), ("motion",), ((3, 0.35),))
    points += [GridPoint(f"preset {name}", preset=name) for name in ("balanced", "fast")]
    return points


def presets_grid() -> list[GridPoint]:
    """The shipped presets alone (their gates on a model, e.g. ``--model judge``)."""
    return [GridPoint(f"preset {name}", preset=name) for name in PRESETS]


GRIDS: dict[str, Callable[[int], list[GridPoint]]] = {
    "full": lambda _steps: full_grid(),
    "quick": lambda _steps: quick_grid(),
    "reuse": reuse_sweep_grid,
    "window": lambda _steps: window_sweep_grid(),
    "presets": lambda _steps: presets_grid(),
    "phased": phased_grid,
    "heads": head_window_grid,
}
"""The grids ``ltx2eff eval --grid`` runs, by name, for the run's step count (the grids with
baselines place them at it)."""
