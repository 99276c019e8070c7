"""The ltx-core loop follows the core's step schedule: window steps, dense blocks, bottleneck."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("ltx_core")

from ltx_core.model.transformer.model import LTXModel, LTXModelType

from ltx2_efficient.hosts.ltx_core import efficient_denoise
from ltx2_efficient.sampler.settings import EfficientSettings

FPS = 24.0
CTX = 32
SIGMAS = torch.linspace(1.0, 0.0, 11)  # 10 steps


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model() -> LTXModel:
    m = LTXModel(
        model_type=LTXModelType.VideoOnly,
        num_attention_heads=2,
        attention_head_dim=16,
        in_channels=8,
        out_channels=8,
        num_layers=3,
        cross_attention_dim=CTX,
    )
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    return m.eval()


def request(frames: int = 9):
    gen = torch.Generator().manual_seed(3)
    return torch.randn(1, 8, frames, 3, 4, generator=gen), torch.randn(1, 5, CTX, generator=gen)


class Inputs:
    """Records the video latent tokens of every model call."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.seen: list[torch.Tensor] = []
        self._handle = model.register_forward_pre_hook(self._record, with_kwargs=True)

    def _record(self, _m, args, kwargs) -> None:
        video = kwargs.get("video", args[0] if args else None)
        self.seen.append(video.latent.detach().clone())

    def remove(self) -> None:
        self._handle.remove()


def run(model, settings, **kwargs):
    latent, ctx = request()
    return efficient_denoise(model, latent, SIGMAS, ctx, settings, FPS, **kwargs)


def test_window_only_on_its_steps_and_blocks(model) -> None:
    settings = EfficientSettings.from_preset(
        "off", window=1, anchor_frame=True, window_start=0.6, dense_first_blocks=1
    )
    report = run(model, settings).report
    # 4 windowed steps (6..9) x 2 windowed blocks; the rest dense.
    assert report.attention.windowed_calls == 4 * 2
    assert report.attention.dense_calls == 10 * 3 - 8
    assert "window on steps 7-10 of 10 (blocks 2-3 of 3)" in report.log_line()
    # Dense before the range: the first 6 steps match the dense run to the bit.
    dense_inputs, windowed_inputs = Inputs(model), None
    run(model, EfficientSettings.off())
    dense_inputs.remove()
    windowed_inputs = Inputs(model)
    run(model, settings)
    windowed_inputs.remove()
    for i in range(7):
        assert torch.equal(dense_inputs.seen[i], windowed_inputs.seen[i]), i
    assert not torch.equal(dense_inputs.seen[7], windowed_inputs.seen[7])


def test_empty_window_range_is_the_dense_loop(model) -> None:
    dense = run(model, EfficientSettings.off()).video
    late = run(model, EfficientSettings.from_preset("off", window=1, window_start=1.0)).video
    assert torch.equal(dense, late)


def test_bottleneck_restricts_the_current_latent_and_expands_back(model) -> None:
    settings = EfficientSettings.from_preset(
        "off", frame_stride=2, keyframe_mode="bottleneck", keyframe_start=0.3, keyframe_end=0.7,
        interpolation="lerp",
    )  # fmt: skip
    dense_inputs = Inputs(model)
    run(model, EfficientSettings.off())
    dense_inputs.remove()
    phases: list[str] = []
    inputs = Inputs(model)
    result = run(model, settings, progress=lambda _d, _t, phase: phases.append(phase))
    inputs.remove()
    assert phases == ["denoise"] * 3 + ["keyframes"] * 4 + ["finish"] * 3
    assert result.video.shape == request()[0].shape
    assert set(result.report.times) == {"denoise", "keyframes", "interpolate", "finish"}
    tokens = [x.shape[1] for x in inputs.seen]
    assert tokens == [9 * 12] * 3 + [5 * 12] * 4 + [9 * 12] * 3
    # Steps 0-2 are the dense run's; step 3 sees the dense trajectory's latent at the keyframes
    # (0, 2, 4, 6, 8), not a restart from noise.
    for i in range(3):
        assert torch.equal(inputs.seen[i], dense_inputs.seen[i])
    dense_at_3 = dense_inputs.seen[3].view(1, 9, 12, 8)[:, ::2].reshape(1, 60, 8)
    assert torch.equal(inputs.seen[3], dense_at_3)
    # At the expansion the keyframes keep their latent; the frames between are re-noised
    # estimates at sigma_7 (closer to the dense run's latent there than fresh noise would be).
    back = inputs.seen[7].view(1, 9, 12, 8)
    keys_before = inputs.seen[6].view(1, 5, 12, 8)
    assert not torch.equal(back[:, ::2], keys_before)  # one more Euler step moved them
    dense_7 = dense_inputs.seen[7].view(1, 9, 12, 8)
    between = back[:, 1::2]
    assert float((between - dense_7[:, 1::2]).norm()) < float(
        (torch.randn_like(between) - dense_7[:, 1::2]).norm()
    )
    line = result.report.log_line()
    assert "keyframes on steps 4-7 of 10 (bottleneck)" in line
    assert result.report.work_fraction == pytest.approx((6 * 9 + 4 * 5) / (10 * 9))


def test_bottleneck_keyframes_keep_their_trajectory_at_the_expansion(model) -> None:
    settings = EfficientSettings.from_preset(
        "off", frame_stride=2, keyframe_mode="bottleneck", keyframe_start=0.3, keyframe_end=0.7
    )
    inputs = Inputs(model)
    run(model, settings)
    inputs.remove()
    # Another request noise changes only the frames between the keyframes at step 7.
    other = Inputs(model)
    run(model, settings, noise=torch.randn(1, 8, 9, 3, 4, generator=torch.Generator().manual_seed(9)))
    other.remove()
    a, b = inputs.seen[7].view(1, 9, 12, 8), other.seen[7].view(1, 9, 12, 8)
    assert torch.equal(a[:, ::2], b[:, ::2])
    assert not torch.equal(a[:, 1::2], b[:, 1::2])


def test_bottleneck_composes_with_reuse_and_never_reuses_across_a_length_change(model) -> None:
    settings = EfficientSettings.from_preset(
        "off", frame_stride=2, keyframe_mode="bottleneck", keyframe_start=0.3, keyframe_end=0.7,
        reuse_start=0.15, reuse_threshold=10.0, max_consecutive_reuse=8,
    )  # fmt: skip
    report = run(model, settings).report
    decisions = {step: reused for step, reused, _ in report.reuse["video"].decisions}
    assert not decisions[3] and not decisions[7]
    assert report.steps_reused("video") > 0


def test_bad_noise_is_rejected(model) -> None:
    with pytest.raises(ValueError, match="noise"):
        run(model, EfficientSettings.off(), noise=torch.zeros(1, 8, 3, 3, 4))
