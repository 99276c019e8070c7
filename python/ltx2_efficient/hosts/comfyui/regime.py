"""The sampling regime of a ComfyUI run, and the settings of a preset resolved for it.

Presets may resolve differently in the dev regime (20-30 guided steps) and the distilled one
(few unguided steps); the C++ core decides the regime from the steps and the model calls per
step (:func:`ltx2_efficient.sampler.settings.regime_for`). A node resolves its preset before it
knows the run, so the run re-resolves it for its regime, keeping the user's overrides.
"""

from __future__ import annotations

from typing import Any

from ltx2_efficient import _core
from ltx2_efficient.sampler.settings import EfficientSettings, regime_for

_UNGUIDED = ("BasicGuider",)  # ComfyUI guiders that make one model call per step


def guidance_scale(guider: Any) -> float | None:
    """The guider's CFG scale (1 for an unguided guider; None when it does not say)."""
    cfg = getattr(guider, "cfg", None)
    if isinstance(cfg, (int, float)) and not isinstance(cfg, bool):
        return float(cfg)
    if any(cls.__name__ in _UNGUIDED for cls in type(guider).__mro__):
        return 1.0
    return None


def settings_for_run(settings: EfficientSettings, steps: int, guider: Any) -> EfficientSettings:
    """``settings`` with its preset resolved for the regime of a ``steps``-step run of
    ``guider`` (unchanged for a custom preset, an unknown guidance or the same regime)."""
    cfg = guidance_scale(guider)
    if cfg is None or steps < 1 or settings.preset not in _core.preset_names():
        return settings
    regime = regime_for(steps, cfg)
    if regime == settings.regime:
        return settings
    overrides = {name: getattr(settings, name) for name in settings.overrides}
    return EfficientSettings.from_preset(settings.preset, regime=regime, **overrides)
