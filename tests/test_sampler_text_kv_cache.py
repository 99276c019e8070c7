"""CachedProjection: lossless reuse of the text cross-attention keys and values."""

from __future__ import annotations

import pytest
import torch

from ltx2_efficient.sampler.text_kv_cache import CachedProjection


def test_repeated_inputs_are_answered_bit_identically():
    torch.manual_seed(0)
    proj = torch.nn.Linear(16, 32)
    cached = CachedProjection(proj, capacity=2)
    cond, uncond, other = (torch.randn(2, 7, 16) for _ in range(3))
    with torch.no_grad():
        first = cached(cond)
        for _ in range(3):
            assert torch.equal(cached(cond), proj(cond))
            assert torch.equal(cached(uncond.clone()), proj(uncond))  # equal values, new tensor
        assert cached.hits == 5 and cached.misses == 2
        assert cached(cond) is first
        cached(other)  # evicts the least recently used (cond was used just before: uncond goes)
        misses = cached.misses
        cached(cond)
        assert cached.misses == misses
        cached(uncond)
        assert cached.misses == misses + 1
        changed = cond.clone()
        changed[0, 0, 0] += 1e-3
        assert torch.equal(cached(changed), proj(changed))


def test_autograd_bypasses_the_cache():
    proj = torch.nn.Linear(4, 4)
    cached = CachedProjection(proj)
    x = torch.randn(1, 3, 4)
    out = cached(x)
    out.sum().backward()
    assert proj.weight.grad is not None
    assert cached.hits == 0 and cached.misses == 1
    cached(x)
    assert cached.hits == 0  # nothing stored while grad is enabled
    with pytest.raises(ValueError, match="capacity must be an integer >= 1, got 0"):
        CachedProjection(proj, capacity=0)


def test_projections_share_one_copy_of_each_context():
    from ltx2_efficient.sampler.text_kv_cache import ContextStore

    store = ContextStore()
    gen = torch.Generator().manual_seed(3)
    projections = [CachedProjection(torch.nn.Linear(8, 8), store=store) for _ in range(6)]
    cond, uncond = torch.randn(1, 5, 8, generator=gen), torch.randn(1, 5, 8, generator=gen)
    with torch.no_grad():
        for _step in range(3):
            for context in (cond, uncond):
                for p in projections:
                    assert torch.equal(p(context.clone()), p.inner(context))
    assert store.bytes == 2 * cond.numel() * cond.element_size()  # two contexts, stored once each
    assert all(p.misses == 2 and p.hits == 4 for p in projections)
    projections[0].clear()
    assert store.bytes == 0


def test_a_byte_limit_keeps_the_shared_cache_within_it_and_outputs_exact():
    from ltx2_efficient.sampler.text_kv_cache import ContextStore

    torch.manual_seed(0)
    one_output = 2 * 7 * 32 * 4  # float32 [2, 7, 32]
    store = ContextStore(max_output_bytes=3 * one_output)
    projections = [torch.nn.Linear(16, 32) for _ in range(4)]
    cached = [CachedProjection(p, store=store) for p in projections]
    cond, uncond = torch.randn(2, 7, 16), torch.randn(2, 7, 16)
    with torch.no_grad():
        for _ in range(3):
            for proj, c in zip(projections, cached, strict=True):
                for x in (cond, uncond):
                    assert torch.equal(c(x), proj(x))
                    assert store.output_bytes <= store.max_output_bytes
    assert store.output_bytes == 3 * one_output  # three outputs fit: the rest are computed each time
    assert sum(c.hits for c in cached) == 3 * 2  # the three stored outputs hit on the two later rounds
    for c in cached:
        c.clear()
    assert store.output_bytes == 0
    with pytest.raises(ValueError, match="max_output_bytes must be an integer >= 0 or None"):
        ContextStore(max_output_bytes=-1)


def test_the_activation_budget_sets_the_text_kv_share():
    from ltx2_efficient.hosts.ltx_core.patch import TEXT_KV_BUDGET_SHARE, text_kv_limit_bytes

    assert text_kv_limit_bytes(0) is None
    assert text_kv_limit_bytes(2048) == 2048 * 2**20 // TEXT_KV_BUDGET_SHARE


def test_a_budgeted_run_reports_the_text_kv_limit(repo_script):
    pytest.importorskip("ltx_core")
    from ltx2_efficient.hosts.ltx_core import efficient_denoise
    from ltx2_efficient.sampler.settings import EfficientSettings

    bench = repo_script("bench/e2e.py", "bench_e2e_kv_limit")
    dims = bench.Dims.tiny()
    dims.text_tokens = 4096  # contexts large enough that a 1 MB budget's quarter cannot hold them
    model = bench.build_model(dims, torch.device("cpu"), torch.float32)
    inputs = bench.make_inputs((640, 352, 25), dims, torch.device("cpu"), torch.float32, 0)
    settings = EfficientSettings.from_preset("off", activation_budget_mb=1)
    out = efficient_denoise(
        model, inputs["video"], bench.schedule(2, inputs["video"]), inputs["context"], settings, bench.FPS,
        negative_context=inputs["negative"], cfg_scale=3.0, audio=inputs["audio"],
    )  # fmt: skip
    note = next(n for n in out.report.notes if n.startswith("text K/V cache kept to 0.25 MB"))
    assert "projections not cached" in note
    # One output is 4096 x 32 float32 = 0.5 MB, over the 0.25 MB limit: none is cached.
    assert out.report.text_kv_reused == 0
