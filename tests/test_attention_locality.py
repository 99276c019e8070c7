"""The attention-locality measurement: binning checked by brute force, observation leaves outputs alone."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from ltx2_efficient.demo.attention_locality import (
    LocalityRecorder,
    LocalityResult,
    TokenGrid,
    bin_index,
    observing,
    sample_queries,
)
from ltx2_efficient.demo.locality_report import locality_markdown
from ltx2_efficient.demo.model import DemoModel, DemoModelConfig

GRID = TokenGrid(frames=5, height=3, width=4)


def test_bins_match_a_brute_force_count():
    queries = sample_queries(GRID, per_frame=3, seed=1)
    assert queries.numel() == 15 and len(set(queries.tolist())) == 15
    bins = bin_index(GRID, queries)
    coords = [(f, y, x) for f in range(5) for y in range(3) for x in range(4)]
    for qi, q in enumerate(queries.tolist()):
        fq, yq, xq = coords[q]
        for k, (fk, yk, xk) in enumerate(coords):
            assert bins[qi, k] == abs(fq - fk) * 4 + max(abs(yq - yk), abs(xq - xk))


def test_mass_sums_to_one_and_a_self_attending_head_stays_in_its_frame():
    recorder = LocalityRecorder(GRID, blocks=1, heads=2, steps=1, per_frame=2)
    n, d = GRID.tokens, 8
    torch.manual_seed(0)
    keys = torch.nn.functional.normalize(torch.randn(n, d), dim=-1) * 30.0  # each query finds itself
    random = torch.randn(n, d) * 0.0  # head 1: uniform attention
    q = torch.cat([keys, random], dim=-1)[None]
    recorder.observe(0, q, q, heads=2)
    result = recorder.result(1)
    assert np.allclose(result.mass.sum(axis=(-1, -2)), 1.0)
    assert np.isclose(result.uniform.sum(), 1.0)
    assert result.within_frames(0)[0, 0, 0] > 0.99
    assert result.within_space(0)[0, 0, 0] > 0.99
    # A head that attends uniformly holds exactly the keys' shares.
    assert np.allclose(result.mass[0, 0, 1], result.uniform)
    assert np.isclose(result.within_frames(1)[0, 0, 1], result.uniform_within_frames(1))
    assert result.frames_for_share(0.9)[0, 0, 0] == 0


def test_observing_a_model_changes_nothing_and_fills_every_block():
    config = DemoModelConfig(frames=3, num_layers=2, heads=2, head_dim=16)
    torch.manual_seed(0)
    model = DemoModel(config).eval()
    with torch.no_grad():  # give the zero-initialised output layers some weight
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    latent = torch.randn(config.latent_shape(1))
    sigma = torch.tensor([0.7])
    context = model.context(torch.tensor([[1, 2, 3, 1]]))
    with torch.no_grad():
        before = model.velocity(latent, sigma, context, config.frame_rate)
        grid = TokenGrid(config.frames, config.grid, config.grid)
        recorder = LocalityRecorder(grid, config.num_layers, config.heads, steps=1, per_frame=4)
        with observing(model.transformer, recorder):
            during = model.velocity(latent, sigma, context, config.frame_rate)
        after = model.velocity(latent, sigma, context, config.frame_rate)
    assert torch.equal(before, during) and torch.equal(before, after)
    assert not any(
        type(b.attn1.attention_function).__name__ == "_ObservedAttention"
        for b in model.transformer.transformer_blocks
    )
    result = recorder.result(1)
    assert np.allclose(result.mass.sum(axis=(-1, -2)), 1.0)
    header = {
        "weights": "test",
        "config": dataclasses.asdict(config),
        "requests": [{"prompt": "p", "seed": 0}],
        "steps": 1,
        "guidance": 3.0,
        "sigmas": [1.0, 0.0],
        "queries_per_frame": 4,
        "wall_s": 0.0,
    }
    text = locality_markdown(LocalityResult.mean([result, result]), header)
    assert "| uniform |" in text and "Spatial heads" in text
