"""Samples a trained demo model at full frame rate and at keyframe strides, as a contact sheet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ltx2_efficient.demo.clip_stream import strided_frames
from ltx2_efficient.demo.contact_sheet import contact_sheet
from ltx2_efficient.demo.latent_codec import decode
from ltx2_efficient.demo.model import DemoModel
from ltx2_efficient.demo.prompt import MOTIONS, SHAPES, DemoPrompt
from ltx2_efficient.demo.reference_sampler import initial_noise, model_sigmas, sample_reference

PREVIEW_COLOURS = ("red", "green", "blue", "yellow", "cyan", "magenta", "orange", "white")
PREVIEW_BACKGROUNDS = ("plain", "vertical-gradient", "horizontal-gradient", "radial-gradient")


def preview_prompts() -> list[DemoPrompt]:
    """One prompt per motion class, shapes/colours/backgrounds rotating."""
    return [
        DemoPrompt(
            motion=m,
            shape=SHAPES[i % len(SHAPES)],
            colour=PREVIEW_COLOURS[i % len(PREVIEW_COLOURS)],
            background=PREVIEW_BACKGROUNDS[i % len(PREVIEW_BACKGROUNDS)],
        )
        for i, m in enumerate(MOTIONS)
    ]


def write_preview(
    model: DemoModel, path: Path, strides: tuple[int, ...] = (1, 2, 4), steps: int = 20, guidance: float = 3.0
) -> None:
    cfg = model.config
    if cfg.sigmas is not None:  # a distilled model: its own schedule, no guidance
        steps, guidance = len(cfg.sigmas) - 1, 1.0
    rows: list[np.ndarray] = []
    labels: list[str] = []
    for stride in strides:
        frames = strided_frames(cfg.frames, stride)
        for i, prompt in enumerate(preview_prompts()):
            shape = cfg.latent_shape(1, frames)
            noise = initial_noise(shape, seed=1000 + i)
            ids = torch.tensor([prompt.token_ids()])
            latent = sample_reference(
                model, noise, ids, model_sigmas(cfg, steps, shape), cfg.frame_rate / stride, guidance
            )
            rows.append(decode(latent.float().cpu(), cfg.patch)[0].numpy())
            labels.append(f"s={stride} {prompt.motion}\n{prompt.colour} {prompt.shape}")
    contact_sheet(rows, labels, scale=2).save(path)
