"""The efficient sampler for ltx-core's ``LTXModel`` (the official LTX-2 packages).

- :func:`apply_efficient` patches a model's video self-attention with the temporal window
  (and the activation budget); ``handle.remove()`` restores it.
- ``apply_efficient(model, settings, steps=N).model`` adds step reuse for sampling loops we do
  not own (ltx-pipelines): a drop-in :class:`ReusingModel`.
- :func:`efficient_denoise` is ltx-core's Euler flow-matching loop with keyframe diffusion,
  interpolation, refinement, step reuse per modality and the run report; an out-of-memory error
  inside it frees the sampler's caches and raises :class:`SamplerOutOfMemory` naming the knobs
  that lower the peak.
- :func:`efficiency_check` runs it dense and with the settings on the same seed and reports
  speed and fidelity; :func:`efficiency_sweep` does that for several settings within a time
  budget and returns the Pareto table.

ltx-core is imported lazily, on first use.
"""

from __future__ import annotations

from ltx2_efficient.hosts.ltx_core.denoise import (
    AudioStream,
    DenoiseResult,
    GuideTokens,
    SamplingCancelled,
    efficient_denoise,
)
from ltx2_efficient.hosts.ltx_core.efficiency_check import (
    DenseReference,
    EfficiencyCheck,
    Sweep,
    dense_reference,
    efficiency_check,
    efficiency_sweep,
)
from ltx2_efficient.hosts.ltx_core.patch import EfficientHandle, apply_efficient
from ltx2_efficient.hosts.ltx_core.positions import grid_from_positions, video_positions
from ltx2_efficient.hosts.ltx_core.reuse_model import ReusingModel
from ltx2_efficient.sampler.out_of_memory import SamplerOutOfMemory

__all__ = [
    "AudioStream",
    "DenoiseResult",
    "DenseReference",
    "EfficiencyCheck",
    "EfficientHandle",
    "GuideTokens",
    "ReusingModel",
    "SamplerOutOfMemory",
    "SamplingCancelled",
    "Sweep",
    "apply_efficient",
    "dense_reference",
    "efficiency_check",
    "efficiency_sweep",
    "efficient_denoise",
    "grid_from_positions",
    "video_positions",
]
