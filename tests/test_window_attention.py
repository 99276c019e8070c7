"""window_attention on torch tensors: the C++ CPU kernel and the torch fallback against a float64
reference with an explicit mask, written here from the semantics (not from the C++ plan)."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import ltx2_efficient
from ltx2_efficient.torch_glue import attention as glue

BOUND = {torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1e-2}
BACKENDS = ("cpu", "torch")


def window_frames(f: int, frames: int, window: int) -> range:
    """NATTEN-style window: min(F, 2K+1) frames centred on f, shifted inward at the borders."""
    if window < 0:
        return range(frames)
    size = min(frames, 2 * window + 1)
    begin = min(max(f - window, 0), frames - size)
    return range(begin, begin + size)


def reference(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    grid: tuple[int, int, int],
    window: int,
    global_tokens: int = 0,
    anchor_frame: bool = False,
    far_field: int = 0,
    subset: str = "all",
    far_8bit: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Float64 attention over [exact keys | pooled keys] with an explicit mask and log-count bias."""
    frames, height, width = grid
    hw = height * width
    grid_tokens = frames * hw
    tokens = grid_tokens + global_tokens
    q64, k64, v64 = (t.double() for t in (q, k, v))
    b, heads, _, d = q.shape
    p = max(far_field, 1)
    cells_h, cells_w = -(-height // p), -(-width // p)
    cells = cells_h * cells_w
    # Pooled keys/values: the mean of each p x p cell of every frame, and the cell's token count.
    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    cell_of_token = torch.cat([f * cells + (ys // p) * cells_w + xs // p for f in range(frames)]).reshape(-1)
    count = torch.bincount(cell_of_token, minlength=frames * cells).double()
    pk = torch.zeros(b, heads, frames * cells, d, dtype=torch.float64)
    pk.index_add_(2, cell_of_token, k64[:, :, :grid_tokens])
    pv = torch.zeros_like(pk).index_add_(2, cell_of_token, v64[:, :, :grid_tokens])
    pk /= count[:, None]
    pv /= count[:, None]
    allowed = torch.zeros(tokens, tokens + frames * cells, dtype=torch.bool)
    for t in range(tokens):
        if t >= grid_tokens:
            allowed[t, :tokens] = subset != "own_frame"
            continue
        f = t // hw
        near = set(window_frames(f, frames, window))
        exact = near | ({0} if anchor_frame else set())
        for g in range(frames):
            own = g == f
            if (subset == "own_frame" and not own) or (subset == "other_frames" and own):
                continue
            if g in exact:
                allowed[t, g * hw : (g + 1) * hw] = True
            elif far_field > 0:
                allowed[t, tokens + g * cells : tokens + (g + 1) * cells] = True
        if subset != "own_frame":
            allowed[t, grid_tokens:tokens] = True
    scale = 1.0 / math.sqrt(d)
    exact_logits = q64 @ k64.transpose(-1, -2) * scale
    if far_8bit:
        far_logits = quantize(q64 * scale) @ quantize(pk).transpose(-1, -2)
    else:
        far_logits = q64 @ pk.transpose(-1, -2) * scale
    logits = torch.cat([exact_logits, far_logits + count.log()], dim=-1)
    logits = logits.masked_fill(~allowed, -math.inf)
    lse = torch.logsumexp(logits, dim=-1)
    weights = torch.where(allowed, torch.exp(logits - lse[..., None]), 0.0)
    out = weights @ torch.cat([v64, pv], dim=2)
    return out, lse


def quantize(x: torch.Tensor) -> torch.Tensor:
    step = x.abs().amax(dim=-1, keepdim=True) / 127.0
    step = torch.where(step > 0, step, torch.ones_like(step))
    return torch.clamp(torch.round(x / step), -127, 127) * step


def relative_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    out64 = out.double()
    assert not torch.isnan(out64).any(), "NaN in the output"
    return float((out64 - ref).norm() / ref.norm())


def random_qkv(
    shape: tuple[int, int, int, int], dtype: torch.dtype, seed: int, token_major: bool = False
) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(seed)
    b, heads, t, d = shape
    out = []
    for scale in (1.5, 1.5, 1.0):
        x = torch.randn(b, t, heads, d, generator=gen) * scale
        # token_major: strided [B, heads, T, D] views of [B, T, heads*D] memory, as hosts have them.
        x = x.transpose(1, 2) if token_major else x.transpose(1, 2).contiguous()
        out.append(x.to(dtype))
    return tuple(out)


CASES = [
    # grid, global tokens, window, anchor, far field, head dim, dtype
    ((5, 3, 7), 3, 1, True, 2, 64, torch.float32),
    ((5, 3, 7), 3, 1, False, 0, 80, torch.float16),
    ((5, 3, 7), 0, 2, True, 3, 8, torch.bfloat16),
    ((7, 2, 3), 2, 0, False, 1, 24, torch.float32),
    ((4, 5, 5), 0, 1, False, 7, 128, torch.bfloat16),
    ((1, 4, 4), 1, 1, True, 2, 16, torch.float16),
    ((6, 3, 3), 0, -1, False, 0, 32, torch.float32),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("grid", "g", "window", "anchor", "far", "d", "dtype"), CASES)
def test_matches_float64_reference(backend, grid, g, window, anchor, far, d, dtype):
    tokens = grid[0] * grid[1] * grid[2] + g
    q, k, v = random_qkv((2, 3, tokens, d), dtype, seed=tokens + d, token_major=d == 80)
    out, lse = ltx2_efficient.window_attention(
        q,
        k,
        v,
        grid=grid,
        window=window,
        global_tokens=g,
        anchor_frame=anchor,
        far_field=far,
        return_lse=True,
        backend=backend,
    )
    assert glue.last_backend() == backend
    assert out.dtype == dtype and out.shape == q.shape
    assert lse.dtype == torch.float32 and lse.shape == q.shape[:3]
    ref_out, ref_lse = reference(
        q, k, v, grid=grid, window=window, global_tokens=g, anchor_frame=anchor, far_field=far
    )
    assert relative_error(out, ref_out) <= BOUND[dtype]
    assert float((lse.double() - ref_lse).abs().max()) <= 1e-4
    # Without return_lse the SDPA path of the fallback runs: same result.
    plain = ltx2_efficient.window_attention(
        q,
        k,
        v,
        grid=grid,
        window=window,
        global_tokens=g,
        anchor_frame=anchor,
        far_field=far,
        backend=backend,
    )
    assert relative_error(plain, ref_out) <= BOUND[dtype]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("window", [4, 7, -1])
def test_window_covering_all_frames_is_dense_sdpa(backend, window):
    grid, g = (5, 3, 7), 3
    q, k, v = random_qkv((1, 2, 5 * 21 + g, 64), torch.float32, seed=window + 10)
    out = ltx2_efficient.window_attention(q, k, v, grid=grid, window=window, global_tokens=g, backend=backend)
    dense = F.scaled_dot_product_attention(q, k, v)
    assert float((out - dense).norm() / dense.norm()) <= 1e-5


@pytest.mark.parametrize("backend", BACKENDS)
def test_eight_bit_far_field_is_close_to_float32(backend):
    grid = (7, 4, 6)
    q, k, v = random_qkv((1, 2, 7 * 24, 64), torch.float32, seed=3)
    args = {"grid": grid, "window": 1, "far_field": 2, "backend": backend}
    ref, _ = reference(q, k, v, grid=grid, window=1, far_field=2)
    ref_8bit, _ = reference(q, k, v, grid=grid, window=1, far_field=2, far_8bit=True)
    exact = ltx2_efficient.window_attention(q, k, v, **args)
    quantized = ltx2_efficient.window_attention(q, k, v, precision="fp8-far-field", **args)
    err_exact, err_8bit = relative_error(exact, ref), relative_error(quantized, ref)
    assert err_exact <= 1e-5
    assert err_exact < err_8bit <= 5e-3  # measured ~1e-3: the 8-bit far field really quantises
    assert relative_error(quantized, ref_8bit) <= 1e-4  # and computes what the policy says


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("precision", "narrow"), [("bf16", torch.bfloat16), ("fp16", torch.float16)])
def test_cast_precision_computes_on_cast_inputs(backend, precision, narrow):
    grid = (5, 3, 7)
    q, k, v = random_qkv((1, 2, 105, 32), torch.float32, seed=4)
    out = ltx2_efficient.window_attention(q, k, v, grid=grid, window=1, precision=precision, backend=backend)
    assert out.dtype == torch.float32
    ref, _ = reference(*(t.to(narrow) for t in (q, k, v)), grid=grid, window=1)
    assert relative_error(out, ref) <= BOUND[narrow]
    upcast = ltx2_efficient.window_attention(
        *(t.to(narrow) for t in (q, k, v)), grid=grid, window=1, precision="fp32", backend=backend
    )
    assert upcast.dtype == narrow
    assert relative_error(upcast, ref) <= BOUND[narrow]


@pytest.mark.parametrize("backend", BACKENDS)
def test_own_and_other_frame_subsets_merge_into_the_window(backend):
    grid, g = (5, 3, 7), 3
    q, k, v = random_qkv((2, 2, 108, 32), torch.bfloat16, seed=5)
    call = glue.AttentionCall(grid, 1, g, anchor_frame=True, far_field=2)
    own = glue.window_attention_subset(q, k, v, call, subset="own_frame", backend=backend)
    other = glue.window_attention_subset(q, k, v, call, subset="other_frames", backend=backend)
    for subset, (out, lse) in (("own_frame", own), ("other_frames", other)):
        ref_out, ref_lse = reference(
            q, k, v, grid=grid, window=1, global_tokens=g, anchor_frame=True, far_field=2, subset=subset
        )
        assert relative_error(out, ref_out) <= BOUND[torch.bfloat16]
        finite = torch.isfinite(ref_lse)
        assert torch.equal(torch.isfinite(lse), finite)
        assert float((lse.double() - ref_lse)[finite].abs().max()) <= 1e-4
    assert torch.all(own[1][:, :, 105:] == -math.inf) and torch.all(own[0][:, :, 105:] == 0)
    merged, merged_lse = glue.merge_attention(*own, *other, backend=backend)
    ref_out, ref_lse = reference(
        q, k, v, grid=grid, window=1, global_tokens=g, anchor_frame=True, far_field=2
    )
    assert relative_error(merged, ref_out) <= 2 * BOUND[torch.bfloat16]
    assert float((merged_lse.double() - ref_lse).abs().max()) <= 1e-4


@pytest.mark.parametrize("backend", BACKENDS)
def test_merge_with_an_empty_partial_returns_the_other(backend):
    gen = torch.Generator().manual_seed(6)
    out_a = torch.randn(1, 2, 10, 8, generator=gen)
    lse_a = torch.randn(1, 2, 10, generator=gen)
    garbage = torch.full_like(out_a, float("nan"))
    empty = torch.full_like(lse_a, -math.inf)
    out, lse = glue.merge_attention(out_a, lse_a, garbage, empty, backend=backend)
    assert torch.equal(out, out_a) and torch.equal(lse, lse_a)
    out, lse = glue.merge_attention(garbage, empty, garbage, empty, backend=backend)
    assert torch.equal(out, torch.zeros_like(out_a)) and torch.all(lse == -math.inf)


def test_backend_env_var_forces_the_torch_path(monkeypatch):
    q, k, v = random_qkv((1, 1, 2 * 4, 8), torch.float32, seed=7)
    monkeypatch.setenv(glue.BACKEND_ENV, "torch")
    ltx2_efficient.window_attention(q, k, v, grid=(2, 2, 2), window=0)
    assert glue.last_backend() == "torch"
    monkeypatch.setenv(glue.BACKEND_ENV, "auto")
    ltx2_efficient.window_attention(q, k, v, grid=(2, 2, 2), window=0)
    assert glue.last_backend() == "cpu"
    monkeypatch.setenv(glue.BACKEND_ENV, "fastest")
    with pytest.raises(ValueError, match=glue.BACKEND_ENV):
        ltx2_efficient.window_attention(q, k, v, grid=(2, 2, 2), window=0)


def test_inputs_that_require_grad_are_accepted():
    q, k, v = random_qkv((1, 1, 2 * 4, 8), torch.float32, seed=8)
    q.requires_grad_(True)
    out = ltx2_efficient.window_attention(q, k, v, grid=(2, 2, 2), window=0, backend="cpu")
    ref, _ = reference(q.detach(), k, v, grid=(2, 2, 2), window=0)
    assert relative_error(out, ref) <= 1e-5


def _bad_calls() -> list[tuple[str, dict]]:
    q, k, v = random_qkv((1, 2, 2 * 4 + 1, 8), torch.float32, seed=9)
    good = {"q": q, "k": k, "v": v, "grid": (2, 2, 2), "window": 1, "global_tokens": 1}
    cases = [
        ("q must be", {"q": q[0]}),
        ("k must have the shape", {"k": k[:, :1]}),
        ("v dtype must match", {"v": v.double()}),
        ("q dtype must be", {"q": q.double(), "k": k.double(), "v": v.double()}),
        ("grid must be", {"grid": (2, 2)}),
        ("grid must be", {"grid": (2, 0, 2)}),
        ("q has T = 9 tokens", {"global_tokens": 2}),
        ("global_tokens must be", {"global_tokens": -1}),
        ("window must be", {"window": -7}),
        ("window must be", {"window": 300}),
        ("window must be", {"window": 1.5}),
        ("far_field must be", {"far_field": 17}),
        ("anchor_frame must be", {"anchor_frame": "yes"}),
        ("precision must be", {"precision": "int4"}),
        ("backend must be", {"backend": "gpu"}),
        ("backend 'cuda' cannot run this call: needs CUDA tensors", {"backend": "cuda"}),
    ]
    return [(match, {**good, **change}) for match, change in cases]


@pytest.mark.parametrize(("match", "kwargs"), _bad_calls())
def test_bad_inputs_raise_value_errors_naming_the_parameter(match, kwargs):
    args = dict(kwargs)
    q, k, v = args.pop("q"), args.pop("k"), args.pop("v")
    with pytest.raises(ValueError, match=match):
        ltx2_efficient.window_attention(q, k, v, **args)


def test_core_binding_reports_bad_views_as_invalid_argument():
    from ltx2_efficient import _core

    q = torch.randn(1, 1, 8, 8)
    with pytest.raises(ltx2_efficient.InvalidArgument, match="out"):
        _core.window_attention(q, q, q, torch.empty(1, 1, 8, 4), grid=(2, 2, 2), window=0)
    with pytest.raises(ltx2_efficient.InvalidArgument, match="lse"):
        _core.window_attention(
            q, q, q, torch.empty_like(q), torch.empty(1, 1, 8, dtype=torch.float16), grid=(2, 2, 2)
        )
    assert _core.window_attention(q, q, q, torch.empty_like(q), grid=(2, 2, 2)) == "cpu"


def test_core_binding_takes_numpy_arrays():
    import numpy as np

    from ltx2_efficient import _core

    q, k, v = (t.numpy() for t in random_qkv((1, 2, 2 * 4 + 1, 8), torch.float32, seed=11))
    out = np.full_like(q, np.nan)
    lse = np.full(q.shape[:3], np.nan, dtype=np.float32)
    assert _core.window_attention(q, k, v, out, lse, grid=(2, 2, 2), global_tokens=1, window=0) == "cpu"
    ref_out, ref_lse = reference(
        *(torch.from_numpy(a) for a in (q, k, v)), grid=(2, 2, 2), window=0, global_tokens=1
    )
    assert relative_error(torch.from_numpy(out), ref_out) <= 1e-5
    assert float((torch.from_numpy(lse).double() - ref_lse).abs().max()) <= 1e-5


def test_key_buffer_holds_exactly_each_groups_frames_and_copies_only_new_ones():
    from ltx2_efficient.torch_glue.attention_fallback import KeySet, _KeyBuffer, _runs

    hw, frames, g = 3, 9, 2
    # Every token's key row is its index, so a view's rows name the tokens it holds.
    tokens = torch.arange(frames * hw + g, dtype=torch.float32)
    k = tokens.view(1, 1, -1, 1).expand(1, 2, -1, 4).contiguous()
    v = -k
    buffer = _KeyBuffer(k, v, hw, frames * hw, slots=5)
    generator = torch.Generator().manual_seed(3)
    for _ in range(60):  # random key sets of changing size, global keys on and off
        n = int(torch.randint(1, 6, (1,), generator=generator))
        chosen = sorted(torch.randperm(frames, generator=generator)[:n].tolist())
        with_globals = bool(torch.randint(0, 2, (1,), generator=generator))
        kb, vb = buffer.keys(KeySet(_runs(chosen), with_globals, ()))
        expected = [f * hw + i for f in chosen for i in range(hw)]
        expected += list(range(frames * hw, frames * hw + g)) if with_globals else []
        assert sorted(kb[0, 1, :, 0].tolist()) == expected
        assert torch.equal(vb, -kb)
    # A sliding window with an anchor frame copies one frame per step after the first group.
    slide = _KeyBuffer(k, v, hw, frames * hw, slots=4)
    for f in range(3, frames - 1):
        slide.keys(KeySet(_runs([0, f - 1, f, f + 1]), False, ()))
    assert slide.copied_frames == 4 + (frames - 1 - 3 - 1)


def test_anchor_and_global_tokens_on_the_torch_path_use_the_rolling_buffer(monkeypatch):
    from ltx2_efficient.torch_glue import attention_fallback

    made = []
    original = attention_fallback._KeyBuffer

    def recording(*args, **kwargs):
        made.append(original(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(attention_fallback, "_KeyBuffer", recording)
    grid, g = (9, 2, 3), 3
    tokens = 9 * 6 + g
    q, k, v = (torch.randn(1, 2, tokens, 16, generator=torch.Generator().manual_seed(i)) for i in range(3))
    call = glue.AttentionCall(grid, 1, g, anchor_frame=True)
    out, _ = attention_fallback.torch_window_attention(q, k, v, call)
    want, _ = reference(q, k, v, grid=grid, window=1, global_tokens=g, anchor_frame=True)
    assert made and made[0].copied_frames <= 4 + 9  # not 4 frames for every query frame
    assert float((out.double() - want).abs().max() / want.abs().max()) < BOUND[torch.float32]
