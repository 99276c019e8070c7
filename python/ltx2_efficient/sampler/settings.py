"""What the efficient sampler should do: a preset plus overrides, validated by the C++ core.

``EfficientSettings`` is the one object every host passes around (ComfyUI nodes, the ltx-core
host, the demo). It holds a validated copy of ``_core.Knobs`` and never changes after it is
built, so a run can log exactly what it applied::

    settings = EfficientSettings.from_preset("balanced", window=1, reuse_threshold=0.05)
    settings.window          # 1
    settings.describe()      # "balanced: stride 2 (motion, 3 refine steps at 0.35); window K=1 ..."
    settings.knobs           # a fresh _core.Knobs copy, for plans and cost estimates

Bad values raise ``ValueError`` naming the parameter and the allowed range (the core's
``InvalidArgument`` is a ``ValueError``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from ltx2_efficient import _core

# name -> (kind, description); the order is the order of describe() and to_dict().
_FIELDS: dict[str, tuple[str, str]] = {
    "frame_stride": ("int", "latent-frame stride of keyframe diffusion, 1 = off"),
    "window": ("int", "temporal attention window K in latent frames, -1 = dense"),
    "anchor_frame": ("bool", "frame 0 visible to every query frame"),
    "far_field": ("int", "pool factor of the low-rank far field, 0 = off"),
    "reuse_start": ("float", "share of steps always computed before reuse may start, 1 = off"),
    "reuse_threshold": ("float", "accumulated relative change allowed before recomputing"),
    "max_consecutive_reuse": ("int", "most reused steps in a row, 0 = off"),
    "precision": ("precision", "attention precision: auto bf16 fp16 fp32 fp8-far-field"),
    "interpolation": ("interpolation", "keyframe upsampling: lerp slerp motion upsampler"),
    "refine_steps": ("int", "full-length steps after interpolation (stride > 1)"),
    "refine_strength": ("float", "sigma the interpolated latent is re-noised to"),
    "activation_budget_mb": ("int", "activation memory budget in MB, 0 = unbounded"),
    "thermal_guard": ("bool", "pace steps to hold the thermal target"),
    "window_start": ("float", "share of the steps before window attention starts (dense before)"),
    "window_end": ("float", "share of the steps after which attention is dense again"),
    "dense_first_blocks": ("int", "first transformer blocks that always attend densely"),
    "dense_last_blocks": ("int", "last transformer blocks that always attend densely"),
    "keyframe_mode": ("keyframe_mode", "keyframe diffusion: refine (from step 0) or bottleneck"),
    "keyframe_start": ("float", "bottleneck: share of the steps run on every frame first"),
    "keyframe_end": ("float", "bottleneck: share of the steps after which every frame runs again"),
}
# Names used elsewhere for the same knob (the original node pack's "freeze_ratio").
_ALIASES: dict[str, str] = {"freeze_ratio": "reuse_start", "attention_window": "window"}


def _coerce(name: str, kind: str, value: Any) -> Any:
    """Checks the Python type of one override and converts it to what ``_core.Knobs`` takes."""
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, got {value!r}")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ValueError(f"{name} must be an integer, got {value!r}")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{name} must be a number, got {value!r}")
        return float(value)
    if kind == "precision":
        if isinstance(value, _core.Precision):
            return value
        if not isinstance(value, str):
            raise ValueError(f"precision must be one of auto bf16 fp16 fp32 fp8-far-field, got {value!r}")
        return _core.parse_precision(value)
    if kind == "interpolation":
        if isinstance(value, _core.Interpolation):
            return value
        if not isinstance(value, str):
            raise ValueError(f"interpolation must be one of lerp slerp motion upsampler, got {value!r}")
        return _core.parse_interpolation(value)
    if kind == "keyframe_mode":
        if isinstance(value, _core.KeyframeMode):
            return value
        if not isinstance(value, str):
            raise ValueError(f"keyframe_mode must be one of refine bottleneck, got {value!r}")
        return _core.parse_keyframe_mode(value)
    raise AssertionError(kind)


@dataclass(frozen=True)
class EfficientSettings:
    """A validated, immutable set of knobs and the preset it came from.

    Build it with :meth:`from_preset` (a preset name plus keyword overrides) or
    :meth:`from_knobs`. Attribute access (``settings.window``, ``settings.interpolation``...)
    returns plain Python values; enums come back as their names (``"motion"``, ``"auto"``).
    """

    preset: str
    _knobs: _core.Knobs = field(repr=False)
    overrides: tuple[str, ...] = ()
    regime: str = "dev"  # the regime the preset was resolved for

    # ---- construction ----

    @classmethod
    def from_preset(cls, name: str = "balanced", regime: str = "dev", **overrides: Any) -> EfficientSettings:
        """Resolves preset ``name`` ("off", "quality", "balanced", "fast", "laptop") as tuned for
        ``regime`` ("dev": 20-30 guided steps; "distilled": few unguided steps; see
        :func:`regime_for`) and applies ``overrides`` by knob name (see :data:`FIELDS`;
        ``freeze_ratio`` means ``reuse_start``, ``attention_window`` means ``window``).
        Raises ValueError naming the bad parameter."""
        if not isinstance(name, str):
            raise ValueError(f"preset must be one of {' '.join(_core.preset_names())}, got {name!r}")
        if not isinstance(regime, str):
            raise ValueError(f"regime must be one of dev distilled, got {regime!r}")
        knobs = _core.resolve_preset(name, _core.parse_regime(regime))
        built = cls._build(name, knobs, overrides)
        return EfficientSettings(built.preset, built._knobs, built.overrides, regime)

    @classmethod
    def from_knobs(cls, knobs: _core.Knobs, preset: str = "custom") -> EfficientSettings:
        """Wraps existing knob values (validated; the argument is copied, not kept)."""
        if not isinstance(knobs, _core.Knobs):
            raise ValueError(f"knobs must be an ltx2_efficient.Knobs, got {type(knobs).__name__}")
        return cls._build(preset, copy.copy(knobs), {})

    @classmethod
    def off(cls) -> EfficientSettings:
        """The dense baseline: every frame, every step, full attention."""
        return cls.from_preset("off")

    @classmethod
    def _build(cls, preset: str, knobs: _core.Knobs, overrides: dict[str, Any]) -> EfficientSettings:
        applied: list[str] = []
        for raw_name, value in overrides.items():
            name = _ALIASES.get(raw_name, raw_name)
            if name not in _FIELDS:
                allowed = " ".join([*_FIELDS, *_ALIASES])
                raise ValueError(f"unknown setting {raw_name!r} (allowed: {allowed})")
            if value is None:
                continue  # "keep the preset's value", what optional node inputs send
            kind = _FIELDS[name][0]
            if name == "window" and value is False:
                value = _core.WINDOW_OFF
            setattr(knobs, name, _coerce(raw_name, kind, value))
            applied.append(name)
        _core.validate_knobs(knobs)
        return cls(preset=preset, _knobs=knobs, overrides=tuple(applied))

    def with_overrides(self, **overrides: Any) -> EfficientSettings:
        """A copy with more overrides applied on top of these settings."""
        built = self._build(self.preset, copy.copy(self._knobs), overrides)
        return EfficientSettings(built.preset, built._knobs, (*self.overrides, *built.overrides), self.regime)

    # ---- values ----

    @property
    def knobs(self) -> _core.Knobs:
        """A fresh copy of the validated knobs (safe to modify)."""
        return copy.copy(self._knobs)

    @property
    def frame_stride(self) -> int:
        return int(self._knobs.frame_stride)

    @property
    def window(self) -> int:
        """Temporal window K in latent frames; -1 (``_core.WINDOW_OFF``) means dense."""
        return int(self._knobs.window)

    @property
    def anchor_frame(self) -> bool:
        return bool(self._knobs.anchor_frame)

    @property
    def far_field(self) -> int:
        return int(self._knobs.far_field)

    @property
    def reuse_start(self) -> float:
        return float(self._knobs.reuse_start)

    @property
    def reuse_threshold(self) -> float:
        return float(self._knobs.reuse_threshold)

    @property
    def max_consecutive_reuse(self) -> int:
        return int(self._knobs.max_consecutive_reuse)

    @property
    def precision(self) -> str:
        return str(_core.precision_name(self._knobs.precision))

    @property
    def interpolation(self) -> str:
        return str(_core.interpolation_name(self._knobs.interpolation))

    @property
    def refine_steps(self) -> int:
        return int(self._knobs.refine_steps)

    @property
    def refine_strength(self) -> float:
        return float(self._knobs.refine_strength)

    @property
    def activation_budget_mb(self) -> int:
        return int(self._knobs.activation_budget_mb)

    @property
    def thermal_guard(self) -> bool:
        return bool(self._knobs.thermal_guard)

    @property
    def window_start(self) -> float:
        return float(self._knobs.window_start)

    @property
    def window_end(self) -> float:
        return float(self._knobs.window_end)

    @property
    def dense_first_blocks(self) -> int:
        return int(self._knobs.dense_first_blocks)

    @property
    def dense_last_blocks(self) -> int:
        return int(self._knobs.dense_last_blocks)

    @property
    def keyframe_mode(self) -> str:
        return str(_core.keyframe_mode_name(self._knobs.keyframe_mode))

    @property
    def keyframe_start(self) -> float:
        return float(self._knobs.keyframe_start)

    @property
    def keyframe_end(self) -> float:
        return float(self._knobs.keyframe_end)

    def step_schedule(self, steps: int) -> _core.StepSchedule:
        """Per step of a ``steps``-step run: window on or off, all frames or keyframes only
        (``schedule.at(i).window``, ``.keyframes``), the transitions (``restrict_before``,
        ``expand_before``) and the dense first/last blocks (``block_windowed(b, blocks)``)."""
        if isinstance(steps, bool) or not isinstance(steps, int):
            raise ValueError(f"steps must be an integer, got {steps!r}")
        return _core.make_step_schedule(self._knobs, steps)

    @property
    def window_enabled(self) -> bool:
        return self.window != _core.WINDOW_OFF

    @property
    def reuse_enabled(self) -> bool:
        """True when step reuse can happen at all (start < 1, a cap > 0 and a threshold > 0)."""
        return bool(self._knobs.reuse_enabled) and self.reuse_threshold > 0.0

    @property
    def keyframes_enabled(self) -> bool:
        return self.frame_stride > 1

    @property
    def window_spec(self) -> _core.WindowSpec:
        return _core.WindowSpec(self.window, self.anchor_frame, self.far_field)

    def to_dict(self) -> dict[str, Any]:
        """Plain values by knob name, plus the preset (JSON-ready)."""
        out: dict[str, Any] = {"preset": self.preset}
        for name in _FIELDS:
            out[name] = getattr(self, name)
        return out

    def describe(self) -> str:
        """One line for logs: the preset and what each technique is set to."""
        parts: list[str] = []
        if self.keyframes_enabled:
            refine = (
                f", {self.refine_steps} refine steps at {self.refine_strength:g}" if self.refine_steps else ""
            )
            if self.keyframe_mode == "bottleneck":
                parts.append(
                    f"stride {self.frame_stride} bottleneck from {self.keyframe_start:.0%} to "
                    f"{self.keyframe_end:.0%} of the steps ({self.interpolation})"
                )
            else:
                parts.append(f"stride {self.frame_stride} ({self.interpolation}{refine})")
        else:
            parts.append("every frame")
        if self.window_enabled:
            extra = (" +anchor" if self.anchor_frame else "") + (
                f" +far field p={self.far_field}" if self.far_field else ""
            )
            if self.window_start > 0.0 or self.window_end < 1.0:
                extra += f" from {self.window_start:.0%} to {self.window_end:.0%} of the steps"
            if self.dense_first_blocks or self.dense_last_blocks:
                extra += f" (first {self.dense_first_blocks} and last {self.dense_last_blocks} blocks dense)"
            parts.append(f"window K={self.window}{extra}")
        else:
            parts.append("dense attention")
        if self.reuse_enabled:
            parts.append(
                f"reuse from {self.reuse_start:.0%} at threshold {self.reuse_threshold:g}, "
                f"at most {self.max_consecutive_reuse} in a row"
            )
        else:
            parts.append("no step reuse")
        if self.precision != "auto":
            # The precision policy is the windowed kernels'; dense attention runs as the host runs it.
            unused = "" if self.window_enabled else " (unused: it applies to windowed attention only)"
            parts.append(f"precision {self.precision}{unused}")
        if self.activation_budget_mb:
            parts.append(f"activation budget {self.activation_budget_mb} MB")
        if self.thermal_guard:
            parts.append("thermal guard")
        name = self.preset + (f" ({self.regime})" if self.regime != "dev" else "")
        name += f" + {', '.join(self.overrides)}" if self.overrides else ""
        return f"{name}: " + "; ".join(parts)


def regime_for(steps: int, cfg_scale: float) -> str:
    """ "distilled" for at most ``_core.DISTILLED_MAX_STEPS`` steps without guidance, else "dev"
    (the core decides; presets may resolve differently per regime)."""
    calls = 1 if float(cfg_scale) == 1.0 else 2
    return str(_core.regime_name(_core.regime_for(int(steps), calls)))


FIELDS: dict[str, str] = {name: desc for name, (_, desc) in _FIELDS.items()}
"""Knob names accepted as overrides, with a one-line description each."""
