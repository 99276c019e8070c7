"""A NaN in q, k or v shows in the output of every attention backend alike: the C++ cpu kernel
is the reference, and torch's fused kernels, which drop a NaN on calls with few keys, must not
hide it (tiny grids such as (2, 2, 2) under window 0 have 4 keys per query)."""

from __future__ import annotations

import pytest
import torch

from ltx2_efficient.torch_glue import attention as glue

BACKENDS = ("torch", "batched")
CASES = [
    # grid, window, anchor, far field, global tokens
    ((2, 2, 2), 0, False, 0, 0),
    ((3, 2, 2), 1, False, 0, 0),
    ((4, 1, 3), 0, True, 0, 0),
    ((3, 2, 2), 0, False, 0, 2),
    ((2, 4, 4), 0, False, 0, 0),
    ((4, 2, 2), 0, False, 2, 0),
]


def _inputs(grid: tuple[int, int, int], global_tokens: int, where: str, seed: int) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    tokens = grid[0] * grid[1] * grid[2] + global_tokens
    q, k, v = (torch.randn(2, 2, tokens, 8, generator=gen) for _ in range(3))
    target = {"q": q, "k": k, "v": v}[where]
    b, h, t, d = (int(torch.randint(0, n, (1,), generator=gen)) for n in target.shape)
    target[b, h, t, d] = float("nan")
    return [q, k, v]


@pytest.mark.parametrize(("grid", "window", "anchor", "far", "global_tokens"), CASES)
@pytest.mark.parametrize("where", ["q", "k", "v"])
def test_every_backend_propagates_nan_like_the_cpu_kernel(grid, window, anchor, far, global_tokens, where):
    for seed in range(3):
        q, k, v = _inputs(grid, global_tokens, where, seed)
        kwargs = {"grid": grid, "window": window, "anchor_frame": anchor, "far_field": far}
        kwargs["global_tokens"] = global_tokens
        reference = glue.window_attention(q, k, v, backend="cpu", **kwargs)
        assert reference.isnan().any()
        for backend in BACKENDS:
            if backend == "batched" and far:
                continue  # the frame-batched path serves no far field
            out, lse = glue.window_attention(q, k, v, backend=backend, return_lse=True, **kwargs)
            assert torch.equal(out.isnan(), reference.isnan()), (backend, where, seed)
            _, ref_lse = glue.window_attention(q, k, v, backend="cpu", return_lse=True, **kwargs)
            assert torch.equal(lse.isnan(), ref_lse.isnan()), (backend, where, seed, "lse")
            plain = glue.window_attention(q, k, v, backend=backend, **kwargs)
            assert torch.equal(plain.isnan(), reference.isnan()), (backend, where, seed, "no lse")


def test_finite_inputs_stay_finite_on_short_calls():
    q, k, v = (torch.randn(1, 2, 8, 8) for _ in range(3))
    for backend in ("cpu", *BACKENDS):
        out = glue.window_attention(q, k, v, grid=(2, 2, 2), window=0, backend=backend)
        assert out.isfinite().all(), backend
