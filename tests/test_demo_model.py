"""The shipped demo model: real ltx-core LTXModel, weights load, the prompt steers the samples."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from ltx_core.model.transformer.model import LTXModel, LTXModelType

from ltx2_efficient.demo.latent_codec import decode
from ltx2_efficient.demo.model import DEFAULT_CONFIG, DEFAULT_WEIGHTS, DemoModelConfig, load_demo_model
from ltx2_efficient.demo.prompt import DemoPrompt
from ltx2_efficient.demo.reference_sampler import demo_sigmas, initial_noise, sample_reference


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return load_demo_model()


def test_shipped_weights_are_small_half_precision_and_match_the_config(model):
    assert DEFAULT_WEIGHTS.stat().st_size <= 20 * 1024 * 1024
    assert DemoModelConfig.from_json(DEFAULT_CONFIG.read_text()) == model.config
    assert json.loads(DEFAULT_CONFIG.read_text())["rope_type"] == "split"
    from safetensors import safe_open

    with safe_open(str(DEFAULT_WEIGHTS), framework="pt") as handle:
        dtypes = {handle.get_slice(k).get_dtype() for k in handle.keys()}
    assert dtypes == {"F16"}
    assert isinstance(model.transformer, LTXModel)
    assert model.transformer.model_type == LTXModelType.VideoOnly
    assert len(model.transformer.transformer_blocks) == model.config.num_layers


def test_velocity_is_finite_and_depends_on_prompt_and_frame_rate(model):
    shape = model.config.latent_shape(1)
    x = initial_noise(shape, seed=0)
    sigma = torch.tensor([0.7])
    with torch.inference_mode():
        red = model.velocity(
            x, sigma, model.context(torch.tensor([DemoPrompt(colour="red").token_ids()])), 24.0
        )
        blue = model.velocity(
            x, sigma, model.context(torch.tensor([DemoPrompt(colour="blue").token_ids()])), 24.0
        )
        slow = model.velocity(
            x, sigma, model.context(torch.tensor([DemoPrompt(colour="red").token_ids()])), 12.0
        )
    assert red.shape == shape and torch.isfinite(red).all()
    assert float((red - blue).abs().mean()) > 1e-3
    assert float((red - slow).abs().mean()) > 1e-4


def test_samples_show_the_prompted_colour(model):
    colours = ("red", "green", "blue")
    shape = model.config.latent_shape(len(colours))
    ids = torch.tensor([DemoPrompt("pan", "circle", c, "plain").token_ids() for c in colours])
    latent = sample_reference(model, initial_noise(shape, seed=7), ids, demo_sigmas(8, shape), 24.0)
    videos = decode(latent, model.config.patch).numpy()
    for channel, (colour, video) in enumerate(zip(colours, videos, strict=True)):
        flat = video.reshape(-1, 3)
        vivid = flat[flat.max(axis=1) - flat.min(axis=1) > 0.4]
        assert len(vivid) > 20, f"no saturated shape pixels for {colour}"
        assert int(np.argmax(vivid.mean(axis=0))) == channel, colour
