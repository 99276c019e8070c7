"""Procedural clips, the latent stand-in for the VAE and LTX-2 positions of the demo model."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ltx2_efficient.demo.clip_stream import StreamSpec, next_batch, strided_frames
from ltx2_efficient.demo.clips import make_clip
from ltx2_efficient.demo.latent_codec import decode, encode
from ltx2_efficient.demo.positions import video_positions
from ltx2_efficient.demo.prompt import MOTIONS, SHAPES, DemoPrompt
from ltx2_efficient.eval.metrics import motion_magnitude


def test_clips_are_deterministic_per_seed():
    prompt = DemoPrompt("orbit", "square", "red", "plain")
    _, a = make_clip(prompt, seed=5, frames=9, frame_rate=24.0, image_size=32)
    _, b = make_clip(prompt, seed=5, frames=9, frame_rate=24.0, image_size=32)
    _, c = make_clip(prompt, seed=6, frames=9, frame_rate=24.0, image_size=32)
    assert a.shape == (9, 32, 32, 3) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert 0.0 <= a.min() and a.max() <= 1.0


@pytest.mark.parametrize("motion", MOTIONS)
def test_every_motion_class_moves_and_shows_its_colour(motion):
    prompt = DemoPrompt(motion, SHAPES[MOTIONS.index(motion) % len(SHAPES)], "blue", "vertical-gradient")
    scene, clip = make_clip(prompt, seed=1, frames=17, frame_rate=24.0, image_size=32)
    assert motion_magnitude(clip) > 1e-3
    # The prompt colour dominates the most saturated pixels (blue shapes on dim backgrounds).
    flat = clip.reshape(-1, 3)
    vivid = flat[flat.max(axis=1) - flat.min(axis=1) > 0.4]
    assert len(vivid) > 0
    assert np.argmax(vivid.mean(axis=0)) == 2
    assert len(scene.tracks) == (2 if motion == "cross" else 1)


def test_lower_frame_rate_is_the_same_motion_sampled_sparsely():
    prompt = DemoPrompt("bounce", "triangle", "green", "plain")
    _, full = make_clip(prompt, seed=3, frames=17, frame_rate=24.0, image_size=32)
    for stride in (2, 4):
        frames = strided_frames(17, stride)
        _, sparse = make_clip(prompt, seed=3, frames=frames, frame_rate=24.0 / stride, image_size=32)
        np.testing.assert_allclose(sparse, full[::stride], atol=1e-5)


def test_crossing_shapes_occlude_each_other():
    prompt = DemoPrompt("cross", "circle", "red", "plain")
    scene, clip = make_clip(prompt, seed=2, frames=17, frame_rate=24.0, image_size=32)
    back, front = scene.tracks
    times = np.arange(17) * 8 / 24.0
    pb, pf = back.pose(times), front.pose(times)
    gap = np.hypot(pb.x - pf.x, pb.y - pf.y)
    assert gap.min() < 0.5 * (back.radius + front.radius)  # they overlap at some frame
    assert gap.max() > back.radius + front.radius  # and are apart at another


def test_latent_codec_is_lossless_and_ltx_shaped():
    rng = np.random.default_rng(0)
    pixels = torch.from_numpy(rng.random((2, 3, 32, 32, 3)).astype(np.float32))
    latent = encode(pixels, patch=4)
    assert latent.shape == (2, 48, 3, 8, 8)
    assert float(latent.min()) >= -1.0 and float(latent.max()) <= 1.0
    torch.testing.assert_close(decode(latent, patch=4), pixels, atol=1e-6, rtol=0)
    # Channel c*16 + dy*4 + dx of token (h, w) is pixel (4h + dy, 4w + dx) of colour c.
    assert latent[1, 2 * 16 + 1 * 4 + 3, 2, 5, 6] == pytest.approx(float(pixels[1, 2, 21, 27, 2]) * 2 - 1)
    with pytest.raises(ValueError, match="multiple of patch"):
        encode(pixels[:, :, :30, :30], patch=4)


def test_positions_follow_ltx2_scale_factors_and_frame_rate():
    pos = video_positions(1, frames=3, height=2, width=2, frame_rate=24.0)
    assert pos.shape == (1, 3, 12, 2)
    # Causal first frame: latent frame 0 covers pixel frame [0, 1), frame f >= 1 [8f - 7, 8f + 1).
    torch.testing.assert_close(pos[0, 0, 0], torch.tensor([0.0, 1.0]) / 24.0)
    torch.testing.assert_close(pos[0, 0, 4], torch.tensor([1.0, 9.0]) / 24.0)
    torch.testing.assert_close(pos[0, 0, 8], torch.tensor([9.0, 17.0]) / 24.0)
    # Token (h=1, w=0) of frame 2: 32-pixel tiles.
    torch.testing.assert_close(pos[0, 1, 10], torch.tensor([32.0, 64.0]))
    torch.testing.assert_close(pos[0, 2, 10], torch.tensor([0.0, 32.0]))
    slower = video_positions(1, frames=3, height=2, width=2, frame_rate=12.0)
    torch.testing.assert_close(slower[0, 0], pos[0, 0] * 2)
    with pytest.raises(ValueError, match="frame_rate must be in"):
        video_positions(1, 3, 2, 2, frame_rate=0.0)


def test_stream_batches_keep_token_count_per_stride():
    spec = StreamSpec(image_size=32, patch=4, frames=17, frame_rate=24.0, clips_per_batch=4, seed=0)
    rng = np.random.default_rng(0)
    for stride, frames in ((1, 17), (2, 9), (4, 5)):
        batch = next_batch(rng, spec, stride)
        assert strided_frames(17, stride) == frames
        assert batch.pixels.shape[1:] == (frames, 32, 32, 3) and batch.pixels.dtype == torch.uint8
        assert abs(batch.pixels.shape[0] * frames - 4 * 17) <= frames
        assert 24.0 / stride * 0.9 <= batch.frame_rate <= 24.0 / stride * 1.1
        assert batch.prompt_ids.min() >= 1  # training clips are fully specified


def test_prompt_parsing_and_errors():
    prompt = DemoPrompt.parse("red circle orbit radial-gradient")
    assert prompt == DemoPrompt("orbit", "circle", "red", "radial-gradient")
    assert prompt.token_ids() == (4, 1, 1, 4)
    assert DemoPrompt().token_ids() == (0, 0, 0, 0)
    with pytest.raises(ValueError, match="motion must be one of"):
        DemoPrompt(motion="spin")
    with pytest.raises(ValueError, match="prompt word must be one of"):
        DemoPrompt.parse("purple circle")
