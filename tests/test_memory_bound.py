"""The memory bound's parts that the CPU can check (docs/BENCHMARKS.md, "Memory bound"):

peak <= resident + weights in flight + one call's activations + the text K/V cache, where the
activations stay under activation_budget_mb (the planner's predicted block peak), the K/V cache
under a quarter of it, and at most two blocks' weights are in flight (tests/test_block_streaming.py).
"""

from __future__ import annotations

import pytest
import torch

from ltx2_efficient import _core
from ltx2_efficient.hosts.ltx_core.patch import text_kv_limit_bytes
from ltx2_efficient.sampler.chunking import chunk_tokens_for_budget, model_dims, predicted_peak
from ltx2_efficient.sampler.settings import EfficientSettings

MIB = 2**20
DIMS_19B = model_dims(blocks=48, heads=32, head_dim=128, context_dim=4096)
# 1280x704x121, 1280x704x257, 960x544x481 and a longer 1280x704 clip
GRIDS = [(16, 22, 40), (33, 22, 40), (61, 17, 30), (76, 22, 40)]


@pytest.mark.parametrize("grid", GRIDS)
@pytest.mark.parametrize("budget_mb", [512, 1024, 2048, 4096])
def test_the_planned_activation_peak_stays_under_the_budget(grid, budget_mb):
    peak, met = predicted_peak(DIMS_19B, grid, budget_mb)
    tokens = grid[0] * grid[1] * grid[2]
    chunk = chunk_tokens_for_budget(DIMS_19B, grid, budget_mb)
    unbounded, _ = predicted_peak(DIMS_19B, grid, 0)
    if unbounded <= budget_mb * MIB:
        assert chunk == tokens and peak == unbounded  # nothing to chunk
    elif met:
        assert peak <= budget_mb * MIB and chunk < tokens
    else:
        assert chunk == 256  # the smallest chunk, and the planner says the budget is not met
    # Activations plus the text K/V cache's share: within 1.25x the budget when it is met.
    if met:
        assert peak + text_kv_limit_bytes(budget_mb) <= 1.25 * budget_mb * MIB


def test_the_sampling_plan_reports_the_same_peak_for_a_budgeted_run():
    settings = EfficientSettings.from_preset("off", activation_budget_mb=2048)
    mdims = _core.ModelDims()
    mdims.blocks, mdims.heads, mdims.head_dim, mdims.context_dim = 48, 32, 128, 4096
    plan = _core.make_plan(
        _core.PixelShape(1280, 704, 257, 24.0), settings.knobs, _core.SamplingSpec(30, 2, 1, 0, -1), mdims
    )
    peak, met = predicted_peak(DIMS_19B, (33, 22, 40), 2048)
    assert met and float(plan.peak_activation_bytes) == pytest.approx(peak)
    assert float(plan.peak_activation_bytes) <= 2048 * MIB


def test_a_budgeted_model_call_holds_one_chunk_of_the_feed_forward(repo_script):
    """Measured on the tiny LTX model: under the budget no feed-forward layer sees more tokens
    than the planner's chunk, so its hidden layer is one chunk's."""
    pytest.importorskip("ltx_core")
    bench = repo_script("bench/e2e.py", "bench_e2e_bound")
    from ltx2_efficient.hosts.ltx_core import apply_efficient

    dims = bench.Dims.tiny()
    model = bench.build_model(dims, torch.device("cpu"), torch.float32)
    inputs = bench.make_inputs((640, 352, 121), dims, torch.device("cpu"), torch.float32, 0)
    seen: list[int] = []
    hooks = [
        m.register_forward_hook(lambda _m, args, _o: seen.append(int(args[0].shape[1])))
        for block in model.transformer_blocks
        for m in block.ff.modules()
        if isinstance(m, torch.nn.Linear)
    ]
    settings = EfficientSettings.from_preset("off", activation_budget_mb=2)
    from ltx2_efficient.hosts.ltx_core import efficient_denoise

    try:
        with apply_efficient(model, settings) as handle:
            handle.set_grid((16, 11, 20))
            chunk = handle.chunk_tokens
        efficient_denoise(
            model, inputs["video"], bench.schedule(1, inputs["video"]), inputs["context"], settings, bench.FPS,
            audio=inputs["audio"],
        )  # fmt: skip
    finally:
        for h in hooks:
            h.remove()
    tokens = 16 * 11 * 20
    mdims = model_dims(blocks=dims.blocks, heads=dims.heads, head_dim=dims.head_dim, context_dim=dims.context,
                       in_channels=dims.channels, dtype=torch.float32)  # fmt: skip
    assert chunk == chunk_tokens_for_budget(mdims, (16, 11, 20), 2) and chunk is not None and chunk < tokens
    assert seen and max(seen) <= chunk  # every feed-forward layer ran on at most one chunk
    peak, met = predicted_peak(mdims, (16, 11, 20), 2)
    assert met and peak <= 2 * MIB
