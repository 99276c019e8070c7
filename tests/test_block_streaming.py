"""Block streaming: the streamed model computes what the resident one does, holding at most two
blocks' weights on the device (CPU: every move is the identity, the hooks are the same)."""

from __future__ import annotations

import pytest
import torch

from ltx2_efficient.sampler.block_streaming import BlockStreamer, streamed_blocks


class Blocks(torch.nn.Module):
    def __init__(self, n: int = 4, width: int = 16) -> None:
        super().__init__()
        self.inp = torch.nn.Linear(8, width)
        self.transformer_blocks = torch.nn.ModuleList(
            torch.nn.Sequential(torch.nn.LayerNorm(width), torch.nn.Linear(width, width), torch.nn.GELU())
            for _ in range(n)
        )
        self.register_buffer("scale", torch.tensor(0.5))
        self.out = torch.nn.Linear(width, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        for block in self.transformer_blocks:
            h = h + block(h) * self.scale
        return self.out(h)


def _block_bytes(block: torch.nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in block.parameters())


def test_streamed_outputs_equal_the_resident_model_and_weights_leave_between_blocks():
    torch.manual_seed(0)
    model = Blocks().eval()
    x = torch.randn(3, 5, 8)
    original = {n: p.detach().clone() for n, p in model.named_parameters()}
    with torch.no_grad():
        expected = model(x)
        with streamed_blocks(model.transformer_blocks, "cpu") as streamer:
            assert all(p.numel() == 0 for p in model.transformer_blocks.parameters())
            first = model(x)
            second = model(x)
            stats = streamer.stats
    assert torch.equal(first, expected) and torch.equal(second, expected)
    per_block = _block_bytes(model.transformer_blocks[0])
    assert stats.blocks == 4 and stats.block_bytes == 4 * per_block
    # The running block and the prefetched next one: never more.
    assert stats.peak_in_flight_bytes == 2 * per_block
    assert stats.loads == 9  # 4 blocks per call, and block 0 prefetched for a next call
    assert streamer.removed
    for name, p in model.named_parameters():
        assert torch.equal(p, original[name]), name


def test_without_prefetch_one_block_is_in_flight():
    model = Blocks(n=3).eval()
    x = torch.randn(2, 8)
    with torch.no_grad():
        expected = model(x)
        streamer = BlockStreamer(model.transformer_blocks, "cpu", prefetch=False)
        out = model(x)
        assert streamer.in_flight_bytes == 0
        streamer.remove()
    assert torch.equal(out, expected)
    assert streamer.stats.peak_in_flight_bytes == _block_bytes(model.transformer_blocks[0])


def test_a_failed_forward_releases_its_blocks_and_the_next_call_works():
    model = Blocks().eval()
    x = torch.randn(2, 8)
    with torch.no_grad():
        expected = model(x)
    calls = {"n": 0}

    def fail_once(_module: torch.nn.Module, _args: object, _out: object) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise torch.OutOfMemoryError("injected")

    handle = model.transformer_blocks[1].register_forward_hook(fail_once)
    streamer = BlockStreamer(model.transformer_blocks, "cpu")
    with torch.no_grad():
        with pytest.raises(torch.OutOfMemoryError):
            model(x)
        assert streamer.in_flight_bytes > 0  # block 1 ran, its release hook never did
        streamer.release_all()
        assert streamer.in_flight_bytes == 0
        assert all(p.numel() == 0 for p in model.transformer_blocks.parameters())
        again = model(x)
    handle.remove()
    streamer.remove()
    assert torch.equal(again, expected)


def test_bad_blocks_are_rejected():
    with pytest.raises(ValueError, match="blocks must be a non-empty torch.nn.ModuleList"):
        BlockStreamer(torch.nn.Linear(2, 2), "cpu")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="blocks must be a non-empty"):
        BlockStreamer(torch.nn.ModuleList(), "cpu")


def test_streamed_ltx_model_samples_what_the_resident_model_samples(repo_script):
    pytest.importorskip("ltx_core")
    bench = repo_script("bench/e2e.py", "bench_e2e_streaming")
    from ltx2_efficient.hosts.ltx_core import efficient_denoise
    from ltx2_efficient.sampler.settings import EfficientSettings

    dims = bench.Dims.tiny()
    device = torch.device("cpu")
    model = bench.build_model(dims, device, torch.float32)
    inputs = bench.make_inputs((640, 352, 25), dims, device, torch.float32, 0)
    sigmas = bench.schedule(3, inputs["video"])
    settings = EfficientSettings.from_preset("off", window=1)

    def sample() -> torch.Tensor:
        out = efficient_denoise(
            model, inputs["video"], sigmas, inputs["context"], settings, bench.FPS,
            negative_context=inputs["negative"], cfg_scale=3.0, audio=inputs["audio"],
        )  # fmt: skip
        return out.video

    expected = sample()
    with streamed_blocks(model.transformer_blocks, device) as streamer:
        streamed = sample()
    assert torch.equal(streamed, expected)
    assert streamer.stats.loads >= 3 * 2 * dims.blocks - 1
    assert streamer.stats.peak_in_flight_bytes <= 2 * streamer.stats.largest_block_bytes
