"""Which step of the schedule a ComfyUI model call belongs to, from its noise level.

ComfyUI puts the sampling schedule in ``transformer_options["sample_sigmas"]`` and the sigma of
the current model evaluation in ``transformer_options["sigmas"]``. A step-ranged technique is a
range of noise levels: an evaluation belongs to the step whose interval
``sigma[i+1] < sigma <= sigma[i]`` holds its sigma. So the evaluations that ancestral, SDE and
two-stage samplers (dpmpp_sde, dpmpp_2s_ancestral, res_2s, seeds_2...) make between two
schedule sigmas belong to the step they are in; an evaluation exactly at ``sigma[i+1]``
(Heun's correction of step i) runs at step i+1's noise level and is counted there, and one a
sampler raised above ``sigma[i]`` (``s_churn``) in the step whose range holds it. The sampler
callback cannot place these better: most samplers call it after a step's first evaluation,
not at its end.
"""

from __future__ import annotations

from typing import Any

import torch


def sigma_step(current: float, values: list[float]) -> int:
    """The step whose interval holds ``current`` in the descending schedule ``values`` of
    N + 1 sigmas; in [0, N - 1] (at or below the last sigma: N - 1)."""
    tolerance = 1e-6 * max(1.0, abs(current))
    index = 0
    for i in range(len(values) - 1):
        if values[i] >= current - tolerance:
            index = i
    return index


def _current_sigma(options: dict[str, Any]) -> float | None:
    sigma = options.get("sigmas")
    if not isinstance(sigma, torch.Tensor) or sigma.numel() == 0:
        return None
    return float(sigma.flatten()[0])


def _schedule_values(schedule: Any) -> list[float] | None:
    if not isinstance(schedule, torch.Tensor) or schedule.numel() < 2:
        return None
    return [float(s) for s in schedule.flatten().tolist()]


def step_index(options: dict[str, Any]) -> int | None:
    """Index of the schedule step the current model call belongs to (None when unknown)."""
    current = _current_sigma(options)
    values = _schedule_values(options.get("sample_sigmas"))
    if current is None or values is None:
        return None
    return sigma_step(current, values)


class StepClock:
    """:func:`step_index` for the calls of one run, reading the schedule once (not per call:
    on a GPU each value read is a device sync)."""

    def __init__(self) -> None:
        self._schedule: Any = None
        self._values: list[float] | None = None

    def step(self, options: dict[str, Any]) -> int | None:
        schedule = options.get("sample_sigmas")
        if schedule is not self._schedule:
            self._schedule = schedule
            self._values = _schedule_values(schedule)
        current = _current_sigma(options)
        if current is None or self._values is None:
            return None
        return sigma_step(current, self._values)
