"""The judge model: its scenes, the torch renderer, distillation, the shipped weights."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ltx2_efficient.demo.clip_stream import StreamSpec
from ltx2_efficient.demo.clips import clip_duration, frame_times
from ltx2_efficient.demo.distillation import LTX2_DISTILLED_SIGMAS, substeps, teacher_velocity
from ltx2_efficient.demo.judge_clips import judge_batch, make_judge_clip
from ltx2_efficient.demo.judge_render import render_batch
from ltx2_efficient.demo.judge_scene import (
    LANDMARKS,
    MAX_SHAPES,
    Camera,
    JudgeScene,
    sample_judge_scene,
    scene_arrays,
    stack_arrays,
)
from ltx2_efficient.demo.model import (
    DemoModelConfig,
    load_demo_model,
    shipped_weights,
)
from ltx2_efficient.demo.prompt import MOTIONS, DemoPrompt
from ltx2_efficient.demo.reference_sampler import model_sigmas
from ltx2_efficient.demo.render import render_frames
from ltx2_efficient.demo.scene import sample_scene
from ltx2_efficient.demo.trainer import TrainConfig, train


@pytest.mark.parametrize("motion", MOTIONS)
def test_torch_renderer_matches_the_numpy_renderer_on_a_plain_scene(motion):
    # No distractors, no landmarks, a still camera: the judge scene is the demo scene.
    rng = np.random.default_rng(3)
    prompt = DemoPrompt(motion=motion, shape="triangle", colour="cyan", background="radial-gradient")
    duration = clip_duration(9, 24.0)
    base = sample_scene(prompt, rng, duration)
    scene = JudgeScene(base, 1.0, (), (), np.zeros((LANDMARKS, 4)), Camera(0.0, 0.0))
    times = frame_times(9, 24.0)
    ours = render_batch(stack_arrays([scene_arrays(scene, times)]), 32, "cpu")[0].numpy()
    reference = render_frames(base, times, 32)
    assert np.abs(ours - reference).max() < 1e-4


def test_a_lower_frame_rate_is_the_same_motion_sampled_more_sparsely():
    prompt = DemoPrompt.parse("red circle bounce plain")
    _, full = make_judge_clip(prompt, 5, 17, 24.0, 64)
    _, half = make_judge_clip(prompt, 5, 9, 12.0, 64)
    assert full.shape == (17, 64, 64, 3)
    assert np.abs(full[::2] - half).max() < 1e-5


def test_judge_scenes_hold_several_shapes_a_camera_and_moving_pixels():
    rng = np.random.default_rng(0)
    still = 0
    for _ in range(40):
        scene = sample_judge_scene(DemoPrompt.parse("blue square pan plain"), rng, 16 * 8 / 24)
        assert 1 <= len(scene.distractors) <= 3
        assert len(scene.in_front) == len(scene.distractors)
        colours = [tuple(np.round(t.colour, 2)) for t, _ in scene.distractors]
        assert len(set(colours)) == len(colours)
        speed = math.hypot(scene.camera.vx, scene.camera.vy)
        still += speed == 0.0
        assert speed == 0.0 or 0.03 <= speed <= 0.09 + 1e-9
        arrays = scene_arrays(scene, frame_times(17, 24.0))
        assert arrays.x.shape == (MAX_SHAPES, 17)
        assert int((arrays.radius > 0).sum()) == 1 + len(scene.distractors)
    assert 0 < still < 40  # some clips pan, some do not
    batch = judge_batch(np.random.default_rng(1), StreamSpec(64, 4, 17, 24.0, 2), 1)
    pixels = batch.pixels_on("cpu")
    assert pixels.shape == (2, 17, 64, 64, 3) and 0.0 <= float(pixels.min()) and float(pixels.max()) <= 1.0
    assert float((pixels[:, 1:] - pixels[:, :-1]).abs().mean()) > 1e-3  # something moves


def test_teacher_velocity_follows_a_guided_teacher_exactly_on_a_constant_field():
    class Constant(torch.nn.Module):
        def velocity(self, x, sigma, context, frame_rate):
            # conditional rows (context 1) get v = 2, unconditional (context 0) v = 1
            return torch.ones_like(x) * (1.0 + context[:, :1, :1, None, None].reshape(-1, 1, 1, 1, 1))

    x = torch.randn(2, 3, 2, 4, 4)
    cond, uncond = torch.ones(2, 4, 8), torch.zeros(2, 4, 8)
    v = teacher_velocity(Constant(), x, LTX2_DISTILLED_SIGMAS, 6, cond, uncond, 24.0, guidance=3.0)
    assert torch.allclose(v, torch.full_like(x, 2.0 + 2.0 * (2.0 - 1.0)))
    assert [substeps(LTX2_DISTILLED_SIGMAS, i) for i in range(8)] == [2, 2, 2, 2, 2, 4, 7, 9]


def test_a_tiny_judge_model_trains_and_distils_on_a_fixed_batch(tmp_path):
    model = DemoModelConfig(image_size=16, frames=3, num_layers=1, heads=2, head_dim=16, scene="judge")
    base = dict(
        clips_per_batch=2,
        learning_rate=3e-3,
        warmup_steps=1,
        attribute_drop=0.0,
        time_limit_s=120.0,
        device="cpu",
        fixed_batch=True,
        log_every=1,
    )
    result = train(
        TrainConfig(model=model, max_steps=3, prompt_drop=0.0, out_dir=str(tmp_path / "t"), **base)
    )
    assert result.losses[-1] < result.losses[0]
    teacher = str(tmp_path / "t" / "demo_model.safetensors")
    student = DemoModelConfig(**{**model.__dict__, "sigmas": LTX2_DISTILLED_SIGMAS})
    distilled = train(
        TrainConfig(
            model=student,
            max_steps=2,
            prompt_drop=0.0,
            out_dir=str(tmp_path / "d"),
            init_weights=teacher,
            teacher_weights=teacher,
            **base,
        )
    )
    assert all(math.isfinite(x) for x in distilled.losses)
    assert load_demo_model(tmp_path / "d" / "demo_model.safetensors").config.sigmas == LTX2_DISTILLED_SIGMAS


def test_shipped_judge_weights_have_ltx2_like_frames_and_the_distilled_schedule():
    for name in ("judge", "judge-distilled"):
        path = shipped_weights(name)
        assert path.stat().st_size <= 20 * 1024 * 1024
        config = load_demo_model(path).config
        assert config.scene == "judge" and config.grid >= 16 and 17 <= config.frames <= 25
    distilled = load_demo_model(shipped_weights("judge-distilled")).config
    assert distilled.sigmas == LTX2_DISTILLED_SIGMAS
    shape = distilled.latent_shape(1)
    assert model_sigmas(distilled, 8, shape).tolist() == pytest.approx(list(LTX2_DISTILLED_SIGMAS))
    with pytest.raises(ValueError, match="steps must be 8"):
        model_sigmas(distilled, 20, shape)
    with pytest.raises(ValueError, match="model must be one of"):
        shipped_weights("nope")


def test_model_config_rejects_bad_scenes_and_schedules():
    with pytest.raises(ValueError, match="scene must be one of"):
        DemoModelConfig(scene="cats")
    with pytest.raises(ValueError, match="sigmas must fall strictly"):
        DemoModelConfig(sigmas=(1.0, 0.5, 0.6, 0.0))
    assert "scene" not in DemoModelConfig().to_json()  # the first demo model's files are unchanged
