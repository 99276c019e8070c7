"""What the efficient sampler should do: a preset plus overrides, validated by the C++ core.

``EfficientSettings`` is the one object every host passes around (ComfyUI nodes, the ltx-core
host, the demo). It holds a validated copy of ``_core.Knobs`` and never changes after it is
built, so a run can log exactly what it applied::

    settings = EfficientSettings.from_preset("balanced", window=1, reuse_threshold=0.05)
    settings.window          # 1
    settings.describe()      # "balanced + window, reuse_threshold: every frame; window K=1; ..."
    settings.knobs           # a fresh _core.Knobs copy, for plans and cost estimates

The knobs, their names, aliases, types and ranges are the core's knob table
(``_core.knob_table()``); this module lists none of them. Bad values raise ``ValueError`` naming
the parameter and the allowed range (the core's ``InvalidArgument`` is a ``ValueError``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from ltx2_efficient import _core

KNOB_ROWS: tuple[dict[str, Any], ...] = tuple(_core.knob_table())
"""The core's knob table, one dict per knob (name, type, min, max, choices, help, presets...)."""

FIELDS: dict[str, str] = {row["name"]: row["help"] for row in KNOB_ROWS}
"""Knob names accepted as overrides, with their help text, in the table's order."""

ALIASES: dict[str, str] = {alias: row["name"] for row in KNOB_ROWS for alias in row["aliases"]}
"""Other names accepted for a knob (the original node pack's ``freeze_ratio``)."""


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
    regime: str = "dev"  # the regime the preset was resolved for (see regime_for)

    # ---- construction ----

    @classmethod
    def from_preset(cls, name: str = "balanced", regime: str = "dev", **overrides: Any) -> EfficientSettings:
        """Resolves preset ``name`` ("off", "quality", "balanced", "fast", "laptop") as tuned for
        ``regime`` ("dev": 20-30 guided steps; "distilled": few unguided steps; the core picks
        it from the steps and guidance, :func:`regime_for`) and applies ``overrides`` by knob
        name or alias (see :data:`FIELDS` and :data:`ALIASES`). Raises ValueError naming the bad
        parameter."""
        if not isinstance(name, str):
            raise ValueError(f"preset must be one of {' '.join(_core.preset_names())}, got {name!r}")
        if not isinstance(regime, str):
            raise ValueError(f"regime must be one of dev distilled, got {regime!r}")
        knobs = _core.resolve_preset(name, regime)
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
            name = ALIASES.get(raw_name, raw_name)
            if name not in FIELDS:
                allowed = " ".join([*FIELDS, *ALIASES])
                raise ValueError(f"unknown setting {raw_name!r} (allowed: {allowed})")
            if value is None:
                continue  # "keep the preset's value", what optional node inputs send
            _core.set_knob(knobs, name, value)
            applied.append(name)
        _core.validate_knobs(knobs)
        return cls(preset=preset, _knobs=knobs, overrides=tuple(applied))

    def with_overrides(self, **overrides: Any) -> EfficientSettings:
        """A copy with more overrides applied on top of these settings."""
        built = self._build(self.preset, copy.copy(self._knobs), overrides)
        return EfficientSettings(built.preset, built._knobs, (*self.overrides, *built.overrides), self.regime)

    def for_regime(self, regime: str) -> EfficientSettings:
        """The same preset resolved for ``regime``, with the same overrides applied on top."""
        if regime == self.regime or self.preset not in _core.preset_names():
            return self
        overrides = {name: getattr(self, name) for name in self.overrides}
        return EfficientSettings.from_preset(self.preset, regime, **overrides)

    # ---- values ----

    @property
    def knobs(self) -> _core.Knobs:
        """A fresh copy of the validated knobs (safe to modify)."""
        return copy.copy(self._knobs)

    def __getattr__(self, name: str) -> Any:
        """A knob's value by its table name (``settings.window``, ``settings.precision``...)."""
        if name in FIELDS:
            return getattr(object.__getattribute__(self, "_knobs"), name)
        raise AttributeError(f"{type(self).__name__!s} has no attribute {name!r}")

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
        return {"preset": self.preset, **self._knobs.to_dict()}

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
            if self.window_head_recall > 0:
                extra += f", on the heads keeping {self.window_head_recall:.0%} of their mass in it"
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
    return str(_core.regime_for(int(steps), 1 if float(cfg_scale) == 1.0 else 2))
