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
