"""One progress bar across the phases of a run, with cancel and thermal pacing between steps.

ComfyUI's samplers call ``callback(step, x0, x, total_steps)`` after every step. The callback
of :class:`RunProgress` checks ComfyUI's cancel flag
(``comfy.model_management.throw_exception_if_processing_interrupted``), lets the thermal guard
pace the next step, keeps the last ``x0`` for the ``denoised_output``, sends a preview like
``latent_preview.prepare_callback`` does, and moves a single ``comfy.utils.ProgressBar`` whose
total counts every step of every phase (plus one for the interpolation).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import torch

log = logging.getLogger("ltx2_efficient")


def check_cancelled() -> None:
    """Raises ComfyUI's interrupt exception when the user cancelled the prompt."""
    import comfy.model_management

    comfy.model_management.throw_exception_if_processing_interrupted()


def pace_thermal(guard: Any) -> None:
    """Lets an LTX2_THERMAL_GUARD object hold the GPU at its target before the next step.

    The guard is called through ``between_steps()`` (``ltx2_efficient.thermal.ThermalGuard``;
    the sampler calls its ``finish()`` after the run), or called directly when it is a function.
    """
    if guard is None:
        return
    pace = getattr(guard, "between_steps", None)
    if callable(pace):
        pace()
    elif callable(guard):
        guard()


class RunProgress:
    """See the module docstring. ``total`` counts the steps of all phases."""

    def __init__(self, model_patcher: Any, total: int, thermal_guard: Any = None, bar: Any = None) -> None:
        import comfy.utils

        self.total = max(int(total), 1)
        self.offset = 0
        self.x0: torch.Tensor | None = None
        self.thermal_guard = thermal_guard
        self.bar = bar if bar is not None else comfy.utils.ProgressBar(self.total)
        self._previewer = self._make_previewer(model_patcher)

    @staticmethod
    def _make_previewer(model_patcher: Any) -> Any:
        try:
            import latent_preview

            return latent_preview.get_previewer(model_patcher.load_device, model_patcher.model.latent_format)
        except Exception as error:  # previews are optional; a missing previewer never stops sampling
            log.warning(
                "LTX2 Efficient Video Sampler: no step previews (%s: %s)", type(error).__name__, error
            )
            return None

    def callback(self, phase_steps: int) -> Callable[[int, torch.Tensor, torch.Tensor, int], None]:
        """The sampler callback of the next phase (``phase_steps`` steps long)."""
        offset = self.offset
        self.offset += phase_steps

        def on_step(step: int, x0: torch.Tensor, x: torch.Tensor, total_steps: int) -> None:
            self.x0 = x0
            check_cancelled()
            preview = None
            if self._previewer is not None:
                try:
                    preview = self._previewer.decode_latent_to_preview_image("JPEG", x0)
                except Exception as error:  # a preview failure must not end the run
                    log.warning(
                        "LTX2 Efficient Video Sampler: step previews off for this run (%s: %s)",
                        type(error).__name__,
                        error,
                    )
                    self._previewer = None
            self.bar.update_absolute(min(offset + step + 1, self.total), self.total, preview)
            pace_thermal(self.thermal_guard)

        return on_step

    def advance(self, steps: int = 1) -> None:
        """Counts work done outside a sampler (the interpolation)."""
        self.offset += steps
        self.bar.update_absolute(min(self.offset, self.total), self.total)


class ProgressSpan:
    """The share ``[start, end)`` of one ComfyUI progress bar of ``units`` steps: a run that
    counts its own steps to its own total moves that share, so several runs fill one bar."""

    def __init__(self, bar: Any, start: int, end: int, units: int) -> None:
        self.bar, self.start, self.end, self.units = bar, start, end, max(int(units), 1)

    def update_absolute(self, value: float, total: float | None = None, preview: Any = None) -> None:
        done = min(max(float(value) / float(total), 0.0), 1.0) if total else 0.0
        self.bar.update_absolute(round(self.start + (self.end - self.start) * done), self.units, preview)
