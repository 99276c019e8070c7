"""Step reuse for sampling loops we do not own (ltx-pipelines): a drop-in wrapper of an LTXModel.

``ReusingModel(model, settings, steps)`` is an ``nn.Module`` with the LTXModel call signature
``(video, audio, perturbations) -> (video_velocity, audio_velocity)``. Pass it where the loop
expects the velocity model (e.g. ``X0Model(handle.model)``). It tells the steps apart by the
sigma of the modalities (a new sigma starts a new step) and the model calls within a step by
their order (cond, uncond, perturbed... as the loop issues them), and decides per modality with
:class:`~ltx2_efficient.sampler.reuse.StepReuse`:

- both modalities reused: the model is not called; the last velocities are returned;
- one reused: the model runs with that modality disabled (``Modality.enabled = False``, the
  switch ltx-pipelines itself uses to skip a modality), and its last velocity is returned;
- otherwise the model runs as usual.

``summary()`` gives the per-modality counts; ``reset()`` starts a new run (call it between
generations, or build a new handle).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from ltx2_efficient.sampler.reuse import ReuseSummary, StepReuse
from ltx2_efficient.sampler.settings import EfficientSettings


def _sigma_of(modality: Any) -> float | None:
    if modality is None:
        return None
    sigma = modality.sigma
    return float(sigma.flatten()[0]) if isinstance(sigma, torch.Tensor) else float(sigma)


class ReusingModel(torch.nn.Module):
    """An LTXModel with online step reuse per modality (see the module docstring)."""

    def __init__(
        self, model: torch.nn.Module, settings: EfficientSettings, steps: int, mode: str = "output"
    ) -> None:
        super().__init__()
        if not isinstance(settings, EfficientSettings):
            raise ValueError(f"settings must be an EfficientSettings, got {type(settings).__name__}")
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
        self.inner = model
        self.settings = settings
        self.steps = steps
        self.mode = mode
        self.model_calls = 0
        self.reset()

    def reset(self) -> None:
        """Forgets the run: the next call is step 0 again."""
        self._reuse = {
            name: StepReuse.from_settings(self.settings, self.steps, name, self.mode)
            for name in ("video", "audio")
        }
        self._sigma: float | None = None
        self._step = -1
        self._call = 0
        self.model_calls = 0

    def summary(self) -> dict[str, ReuseSummary]:
        return {name: reuse.summary() for name, reuse in self._reuse.items() if reuse.step >= 0}

    def forward(self, video: Any, audio: Any, perturbations: Any = None) -> tuple[Any, Any]:
        sigma = _sigma_of(video) if video is not None else _sigma_of(audio)
        if sigma != self._sigma:
            self._sigma = sigma
            self._step += 1
            self._call = 0
            if self._step >= self.steps:
                raise ValueError(
                    f"steps must cover the run: step {self._step + 1} of a {self.steps}-step handle "
                    "(call reset() between runs)"
                )
        key = self._call
        self._call += 1

        streams = {"video": video, "audio": audio}
        reusing: dict[str, bool] = {}
        for name, modality in streams.items():
            if modality is None or not modality.enabled:
                reusing[name] = False
                continue
            reuse = self._reuse[name]
            reuse.begin_step(self._step, modality.latent)
            reusing[name] = reuse.can_reuse(key)

        if all(reusing[n] or streams[n] is None or not streams[n].enabled for n in streams) and any(
            reusing.values()
        ):
            outs = [
                self._reuse[n].reuse(streams[n].latent, key) if reusing[n] else None
                for n in ("video", "audio")
            ]
            return outs[0], outs[1]

        call_video = replace(video, enabled=False) if video is not None and reusing["video"] else video
        call_audio = replace(audio, enabled=False) if audio is not None and reusing["audio"] else audio
        vx, ax = self.inner(call_video, call_audio, perturbations)
        self.model_calls += 1
        outs = {"video": vx, "audio": ax}
        for name, modality in streams.items():
            if modality is None or not modality.enabled:
                continue
            reuse = self._reuse[name]
            if reusing[name]:
                outs[name] = reuse.reuse(modality.latent, key)
            elif outs[name] is not None:
                reuse.record(modality.latent, outs[name], key)
        return outs["video"], outs["audio"]
