"""One ``guider.sample`` call per phase of a request, each on a patched copy of the guider.

The sampler node runs a request as one or more phases (the plain run; keyframes then refine;
or full frames, keyframes, full frames for the bottleneck). :class:`Runner` runs each phase on
a patched copy of the user's guider that carries the request's step schedule and the phase's
first step, and keeps every phase's :class:`RunState` and time for the report.
:class:`Request` holds what every phase shares (the seed's noise, the input latent and mask,
the sampler, the progress bar).

Continuing a trajectory across phases: ComfyUI's sampler starts a run from
``noise_scaling(sigma0, noise, latent) = sigma0 * noise + (1 - sigma0) * latent`` (LTX's
flow-matching sampling) and returns ``inverse_noise_scaling(sigma_last, x) = x / (1 - sigma_last)``.
:func:`state_at` undoes the latter, and :func:`continuation_noise` gives the noise that makes a
run start exactly at a given state while its latent stays the request's input latent, so
frames the noise mask keeps are blended back with the input's conditioning as in one run.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

import torch

from ltx2_efficient import _core
from ltx2_efficient.hosts.comfyui.latent_parts import join_av, split_av
from ltx2_efficient.hosts.comfyui.ltx_model import LtxModelInfo
from ltx2_efficient.hosts.comfyui.model_wrappers import copy_nested
from ltx2_efficient.hosts.comfyui.patch import install_patch
from ltx2_efficient.hosts.comfyui.progress import RunProgress
from ltx2_efficient.hosts.comfyui.run_state import PatchConfig, RunState
from ltx2_efficient.sampler.settings import EfficientSettings
from ltx2_efficient.torch_glue.interpolation import Upsampler


def patched_guider(guider: Any, config: PatchConfig) -> Any:
    """A shallow copy of ``guider`` whose model patcher and options carry the patch."""
    model_patcher = guider.model_patcher.clone()
    patched = copy.copy(guider)
    patched.model_patcher = model_patcher
    options = getattr(guider, "model_options", None)
    patched.model_options = copy_nested(options if isinstance(options, dict) else model_patcher.model_options)
    install_patch(model_patcher, patched.model_options, config)
    return patched


@dataclass
class Request:
    """What every phase of one sampler-node request shares."""

    noise: Any  # the seed's noise for the whole latent (video, or NestedTensor of video + audio)
    samples: Any  # the input latent
    noise_mask: Any  # the input noise mask (None, a tensor or a NestedTensor)
    video_mask: torch.Tensor | None  # its video part in the video latent's shape
    sampler: Any
    sigmas: torch.Tensor
    settings: EfficientSettings
    progress: RunProgress
    disable_pbar: bool
    seed: Any
    upsampler: Upsampler | None = None

    @property
    def steps(self) -> int:
        return int(self.sigmas.shape[-1]) - 1


class Runner:
    """One sampling request: its step schedule, and what the report needs of every phase."""

    def __init__(
        self, guider: Any, settings: EfficientSettings, model: LtxModelInfo, schedule: _core.StepSchedule
    ) -> None:
        self.guider = guider
        self.settings = settings
        self.model = model
        self.schedule = schedule
        self.runs: list[RunState] = []
        self.times: dict[str, float] = {}

    def sample(self, phase: str, time_scale: float, first_step: int, *args: Any, **kwargs: Any) -> Any:
        """``guider.sample(*args, **kwargs)`` patched for ``phase``, whose first step is request
        step ``first_step`` (the refine phase: 0, it has its own steps)."""
        config = PatchConfig(
            settings=self.settings,
            model=self.model,
            time_scale=time_scale,
            phase=phase,
            schedule=self.schedule,
            step_offset=first_step,
            on_run_end=self.runs.append,
        )
        guider = patched_guider(self.guider, config)
        start = time.perf_counter()
        try:
            return guider.sample(*args, **kwargs)
        finally:
            self.times[phase] = self.times.get(phase, 0.0) + time.perf_counter() - start

    def process_in(self, latent: torch.Tensor) -> torch.Tensor:
        return self.guider.model_patcher.model.process_latent_in(latent)


def state_at(runner: Runner, output: torch.Tensor, sigma: float) -> torch.Tensor:
    """The sampler's latent at ``sigma`` from a phase's output that ended there (float32)."""
    return runner.process_in(output.float()) * (1.0 - sigma)


def continuation_noise(runner: Runner, state: Any, latent: Any, sigma: float) -> Any:
    """The noise n with ``sigma * n + (1 - sigma) * latent == state`` for every part (video,
    audio) of ``state`` and ``latent``, with the latent as the sampler sees it, so that a run
    from ``sigma`` starts exactly at ``state``."""
    if not sigma > 0.0:
        raise ValueError(f"a phase can only continue from a sigma above 0, got {sigma:g}")
    # ComfyUI shifts the latent in only when it is not all zeros (CFGGuider.inner_sample).
    shifted = any(bool(torch.count_nonzero(part)) for part in split_av(latent) if part is not None)
    parts = []
    for part_state, part_latent in zip(split_av(state), split_av(latent), strict=True):
        if part_state is None or part_latent is None:
            parts.append(None)
            continue
        start = part_latent.float().to(part_state.device)
        if shifted:
            start = runner.process_in(start)
        parts.append((part_state.float() - (1.0 - sigma) * start) / sigma)
    return join_av(parts[0], parts[1])


def state_av(runner: Runner, output: Any, sigma: float) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(video, audio or None): the sampler's latent at ``sigma`` from a phase's output that
    ended there (float32)."""
    video, audio = split_av(output)
    return state_at(runner, video, sigma), (state_at(runner, audio, sigma) if audio is not None else None)
