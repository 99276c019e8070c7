"""Correctness of the CUDA window-attention kernels on the device (builds nothing itself).

Runs the CPU suite's correctness matrix on CUDA through the installed package: fresh random inputs
for every case, odd grids (several query tiles and key blocks, partial ones), global tokens, the
anchor frame, far field p in {1, 2, 4}, head dim 64 and 128, float16 and bfloat16, [B, heads, T, D]
and token-major strided views. Each result is compared with a float64 reference computed on the
GPU from the upcast inputs with an explicit key mask (and explicit p x p pooling with + log(count)
for the far field): relative error ||out - ref|| / ||ref|| within a per-dtype bound, NaN never
passes, every output is poisoned (NaN) before the run, the LSE is checked, K >= F - 1 must equal
dense SDPA, and the 8-bit far field is measured against the same reference.

    python bench/attention_check.py [--kernel auto|mma] [--quick] [--json PATH]

--kernel mma forces the portable mma.sync kernel (LTX2EFF_CUDA_ATTENTION_KERNEL) on any card.
Exits non-zero on any failure. tests/test_window_attention_cuda.py runs the same checks in pytest.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import secrets
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch

# Relative-error bounds of the output, per input dtype (the CPU suite's bounds).
OUT_BOUND = {torch.float16: 2e-3, torch.bfloat16: 1e-2}
# Largest |lse - ref| allowed. Exact keys: products of the inputs summed in float32. Pooled keys
# are rounded to the input dtype when stored, which moves their logits by up to ~1e-3 (bf16).
LSE_BOUND_EXACT = 1e-4
LSE_BOUND_POOLED = {torch.float16: 1e-3, torch.bfloat16: 5e-3}
# The 8-bit far field (per-row int8 Q and pooled K): measured, with a loose sanity bound.
OUT_BOUND_8BIT = 2.5e-2
LSE_BOUND_8BIT = 5e-2


@dataclass
class Case:
    grid: tuple[int, int, int]
    window: int
    anchor: bool = False
    far_field: int = 0
    global_tokens: int = 0
    head_dim: int = 128
    dtype: torch.dtype = torch.bfloat16
    batch: int = 1
    heads: int = 2
    token_major: bool = False  # q/k/v/out as strided views of [B, T, heads, D] memory
    return_lse: bool = True
    far_8bit: bool = False
    subset: str = "all"  # "all", "own_frame", "other_frames" (the key subsets of spatial freeze)

    @property
    def tokens(self) -> int:
        f, h, w = self.grid
        return f * h * w + self.global_tokens

    def describe(self) -> str:
        f, h, w = self.grid
        dt = str(self.dtype).replace("torch.", "")
        extra = " token-major" if self.token_major else ""
        extra += " 8-bit" if self.far_8bit else ""
        extra += "" if self.return_lse else " no-lse"
        extra += "" if self.subset == "all" else f" subset={self.subset}"
        return (
            f"grid {f}x{h}x{w} +{self.global_tokens} K={self.window} anchor={int(self.anchor)} "
            f"p={self.far_field} D={self.head_dim} {dt} B={self.batch} H={self.heads}{extra}"
        )


@dataclass
class Outcome:
    case: str
    seed: int
    out_error: float
    lse_error: float | None
    out_bound: float
    lse_bound: float | None
    backend: str
    ok: bool
    note: str = ""
    extra: dict[str, float] = field(default_factory=dict)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _core() -> Any:
    from ltx2_efficient import _core as core

    return core


def random_inputs(case: Case, seed: int, device: torch.device) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    shape = (case.batch, case.tokens, case.heads, case.head_dim) if case.token_major else None
    tensors = []
    for _ in range(3):
        if shape is not None:
            x = torch.randn(shape, generator=gen, device=device, dtype=torch.float32).to(case.dtype)
            tensors.append(x.transpose(1, 2))  # [B, heads, T, D] view of [B, T, heads, D] memory
        else:
            x = torch.randn(
                (case.batch, case.heads, case.tokens, case.head_dim),
                generator=gen,
                device=device,
                dtype=torch.float32,
            )
            tensors.append(x.to(case.dtype))
    return tuple(tensors)


def pooled_frames(x: torch.Tensor, grid: tuple[int, int, int], p: int) -> tuple[torch.Tensor, torch.Tensor]:
    """p x p cell means of every frame of x [B, H, T, D] (grid tokens first): [B, H, F*P, D], counts [F*P]."""
    f, h, w = grid
    b, heads, _, d = x.shape
    ch, cw = -(-h // p), -(-w // p)
    grid_x = x[:, :, : f * h * w, :].reshape(b, heads, f, h, w, d)
    padded = torch.zeros(b, heads, f, ch * p, cw * p, d, dtype=x.dtype, device=x.device)
    padded[:, :, :, :h, :w, :] = grid_x
    sums = padded.reshape(b, heads, f, ch, p, cw, p, d).sum(dim=(4, 6))
    ones = torch.zeros(ch * p, cw * p, dtype=x.dtype, device=x.device)
    ones[:h, :w] = 1
    counts = ones.reshape(ch, p, cw, p).sum(dim=(1, 3))  # [ch, cw]
    means = sums / counts[None, None, None, :, :, None]
    return means.reshape(b, heads, f * ch * cw, d), counts.reshape(-1).repeat(f)


def reference(
    case: Case, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """float64 output and natural-log LSE from the window plan's explicit key sets."""
    core = _core()
    f, h, w = case.grid
    hw = h * w
    n = f * hw
    t = case.tokens
    plan = core.WindowPlan(
        core.LatentShape(f, h, w),
        case.global_tokens,
        core.WindowSpec(case.window, case.anchor, case.far_field),
    )
    q64, k64, v64 = (x.to(torch.float64) for x in (q, k, v))
    scale = 1.0 / math.sqrt(case.head_dim)
    mask = torch.zeros(t, t, dtype=torch.bool, device=q.device)
    mask[n:, :] = True  # global queries see every key
    mask[:, n:] = True  # every query sees the global keys
    pooled_rows = plan.pooled_tokens_per_frame if case.far_field > 0 and not plan.is_dense else 0
    far_mask = torch.zeros(t, f * pooled_rows, dtype=torch.bool, device=q.device)
    for frame in range(f):
        fp = plan.frame(frame)
        rows = slice(frame * hw, (frame + 1) * hw)
        mask[rows, fp.near.begin * hw : fp.near.end * hw] = True
        if fp.anchor:
            mask[rows, 0:hw] = True
        for g in fp.far:
            far_mask[rows, g * pooled_rows : (g + 1) * pooled_rows] = True
    if case.subset != "all":
        own = torch.zeros(t, t, dtype=torch.bool, device=q.device)
        for frame in range(f):
            own[frame * hw : (frame + 1) * hw, frame * hw : (frame + 1) * hw] = True
        if case.subset == "own_frame":
            mask = own  # global queries keep no key at all
            far_mask[:] = False
        else:
            mask &= ~own
    logits = torch.matmul(q64, k64.transpose(-1, -2)) * scale
    logits = logits.masked_fill(~mask, float("-inf"))
    values = v64
    if pooled_rows > 0:
        kp, counts = pooled_frames(k64, case.grid, case.far_field)
        vp, _ = pooled_frames(v64, case.grid, case.far_field)
        far_logits = torch.matmul(q64, kp.transpose(-1, -2)) * scale + torch.log(counts)
        far_logits = far_logits.masked_fill(~far_mask, float("-inf"))
        logits = torch.cat([logits, far_logits], dim=-1)
        values = torch.cat([v64, vp], dim=-2)
    lse = torch.logsumexp(logits, dim=-1)
    empty = torch.isinf(lse)  # a query without keys: out 0, lse -inf
    probs = torch.softmax(logits.masked_fill(empty[..., None], 0.0), dim=-1).masked_fill(
        empty[..., None], 0.0
    )
    out = torch.matmul(probs, values)
    return out, lse


def device_kind(x: torch.Tensor) -> str:
    """The backend expected to serve tensors on x's device ("cuda", or "cpu" for self-tests)."""
    return "cuda" if x.is_cuda else "cpu"


def relative_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    """||out - ref|| / ||ref|| in float64; NaN anywhere gives NaN (which fails every bound)."""
    x = out.to(torch.float64)
    if torch.isnan(x).any():
        return float("nan")
    return float(torch.linalg.vector_norm(x - ref) / torch.linalg.vector_norm(ref).clamp_min(1e-300))


def lse_error(lse: torch.Tensor, ref: torch.Tensor) -> float:
    x = lse.to(torch.float64)
    if torch.isnan(x).any() or not torch.equal(torch.isinf(x), torch.isinf(ref)):
        return float("nan")
    finite = torch.isfinite(ref)
    if not finite.any():
        return 0.0
    return float((x[finite] - ref[finite]).abs().max())


def poison_allocator(case: Case, device: torch.device) -> None:
    """Fill the caching allocator's next blocks of the output's size with NaN, so that an output
    the glue allocates itself starts out poisoned and unwritten elements show up as NaN."""
    numel = case.batch * case.heads * case.tokens * case.head_dim
    junk = [torch.full((numel,), float("nan"), dtype=case.dtype, device=device)]
    junk.append(
        torch.full((case.batch * case.heads * case.tokens,), float("nan"), dtype=torch.float32, device=device)
    )
    del junk


class NotServed(Exception):
    """The CUDA path declined the call (Unavailable): reported as skipped, not as a pass."""


def run_attention(
    case: Case, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor | None, str]:
    """The CUDA kernel through the core binding, into explicitly NaN-poisoned out and lse."""
    core = _core()
    out = torch.full(q.shape, float("nan"), dtype=q.dtype, device=q.device)
    if case.token_major:  # a strided output too: [B, heads, T, D] view of [B, T, heads, D]
        out = torch.full(
            (q.shape[0], q.shape[2], q.shape[1], q.shape[3]), float("nan"), dtype=q.dtype, device=q.device
        ).transpose(1, 2)
    lse = (
        torch.full(q.shape[:3], float("nan"), dtype=torch.float32, device=q.device)
        if case.return_lse
        else None
    )
    subsets = {
        "all": core.KeySubset.ALL,
        "own_frame": core.KeySubset.OWN_FRAME,
        "other_frames": core.KeySubset.OTHER_FRAMES,
    }
    try:
        backend = core.window_attention(
            q,
            k,
            v,
            out,
            lse,
            grid=case.grid,
            global_tokens=case.global_tokens,
            window=case.window,
            anchor_frame=case.anchor,
            far_field=case.far_field,
            precision=core.Precision.FP8_FAR_FIELD if case.far_8bit else core.Precision.AUTO,
            subset=subsets[case.subset],
            stream=torch.cuda.current_stream(q.device).cuda_stream if q.is_cuda else 0,
        )
    except core.Unavailable as error:
        raise NotServed(str(error)) from error
    _sync(q.device)
    return out, lse, str(backend)


def run_glue(
    case: Case, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, backend: str | None = None
) -> tuple[torch.Tensor, torch.Tensor | None, str]:
    """The public entry point ltx2_efficient.window_attention, forced onto the CUDA backend (or
    onto ``backend``)."""
    import ltx2_efficient
    from ltx2_efficient.torch_glue import attention as glue

    poison_allocator(case, q.device)
    result = ltx2_efficient.window_attention(
        q,
        k,
        v,
        grid=case.grid,
        window=case.window,
        global_tokens=case.global_tokens,
        anchor_frame=case.anchor,
        far_field=case.far_field,
        return_lse=case.return_lse,
        precision="fp8-far-field" if case.far_8bit else "auto",
        backend=backend or ("cuda" if q.is_cuda else "cpu"),
    )
    _sync(q.device)
    out, lse = result if case.return_lse else (result, None)
    return out, lse, glue.last_backend()


def run_batched(
    case: Case, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor | None, str]:
    """The frame-batched SDPA path (batched calls over overlapping in-place K/V views); the
    backend it reports says how its batches ran: "batched/in-place" (every batch written in place
    by cuDNN's graph API), "batched/aten" (ATen's fused ops and a copy) or "batched/partly"."""
    from ltx2_efficient.torch_glue import cudnn_graph

    before = cudnn_graph.status()
    out, lse, backend = run_glue(case, q, k, v, backend="batched")
    after = cudnn_graph.status()
    executed = after["executed"] - before["executed"]
    declined = after["declined_calls"] - before["declined_calls"]
    how = "aten" if executed == 0 else ("in-place" if declined == 0 else "partly")
    return out, lse, f"{backend}/{how}"


def batched_expectation(device: torch.device, dtype: torch.dtype) -> str:
    """How the frame-batched path should run a case here: in place where cuDNN's graph API is
    available for the dtype (``LTX2EFF_CUDNN_GRAPH`` on, frontend installed), else ATen."""
    from ltx2_efficient.torch_glue import cudnn_graph

    probe = torch.empty(0, dtype=dtype, device=device)
    return "batched/in-place" if cudnn_graph.unavailable_reason(probe) is None else "batched/aten"


def check_case(
    case: Case,
    device: torch.device,
    seed: int | None = None,
    runner: Callable[..., Any] = run_attention,
    expect: str | None = None,
) -> Outcome:
    seed = secrets.randbits(31) if seed is None else seed
    q, k, v = random_inputs(case, seed, device)
    ref_out, ref_lse = reference(case, q, k, v)
    try:
        out, lse, backend = runner(case, q, k, v)
    except NotServed as why:
        # Only the key subsets may be declined (the dispatcher may keep them off the device).
        skipped = case.subset != "all"
        note = f"skipped: {why}" if skipped else f"not served: {why}"
        return Outcome(case.describe(), seed, float("nan"), None, 0.0, None, "none", skipped, note)
    far = case.far_field > 0 and not (case.window < 0 or 2 * case.window + 1 >= case.grid[0])
    out_bound = OUT_BOUND_8BIT if (case.far_8bit and far) else OUT_BOUND[case.dtype]
    if case.far_8bit and far:
        lse_bound = LSE_BOUND_8BIT
    else:
        lse_bound = LSE_BOUND_POOLED[case.dtype] if far else LSE_BOUND_EXACT
    err = relative_error(out, ref_out)
    lerr = lse_error(lse, ref_lse) if lse is not None else None
    expected = expect or device_kind(q)
    ok = backend == expected and err <= out_bound and (lerr is None or lerr <= lse_bound)
    note = "" if backend == expected else f"ran on backend {backend!r}, not {expected}"
    return Outcome(
        f"{case.describe()}{'' if expect is None else f' [{expect}]'}",
        seed,
        err,
        lerr,
        out_bound,
        lse_bound if lse is not None else None,
        backend,
        ok,
        note,
    )


def check_dense_equivalence(case: Case, device: torch.device) -> Outcome:
    """K >= F - 1 (and window off) is dense attention: compare with torch SDPA and float64."""
    seed = secrets.randbits(31)
    q, k, v = random_inputs(case, seed, device)
    out, lse, backend = run_glue(case, q, k, v)
    sdpa = torch.nn.functional.scaled_dot_product_attention(q.contiguous(), k.contiguous(), v.contiguous())
    ref_q, ref_k, ref_v = (x.to(torch.float64) for x in (q, k, v))
    ref = torch.nn.functional.scaled_dot_product_attention(ref_q, ref_k, ref_v)
    err_ref = relative_error(out, ref)
    err_sdpa = float(
        torch.linalg.vector_norm(out.double() - sdpa.double()) / torch.linalg.vector_norm(sdpa.double())
    )
    sdpa_err_ref = relative_error(sdpa, ref)
    bound = OUT_BOUND[case.dtype]
    ok = backend == device_kind(q) and err_ref <= bound and err_sdpa <= bound
    return Outcome(
        case.describe() + " == dense SDPA",
        seed,
        err_ref,
        None,
        bound,
        None,
        backend,
        ok,
        extra={"vs_sdpa": err_sdpa, "sdpa_vs_float64": sdpa_err_ref},
    )


def check_8bit_far_field(case: Case, device: torch.device) -> Outcome:
    """The 8-bit far field against float64, next to the same inputs with exact far-field QK."""
    seed = secrets.randbits(31)
    exact = check_case(replace(case, far_8bit=False), device, seed)
    eight = check_case(case, device, seed)
    eight.extra = {"exact_out_error": exact.out_error, "exact_lse_error": exact.lse_error or 0.0}
    eight.ok = eight.ok and exact.ok
    return eight


def check_merge(device: torch.device, dtype: torch.dtype) -> Outcome | None:
    """LSE merge of two partials (one of them empty in some rows) against the float64 formula."""
    from ltx2_efficient.torch_glue import attention as glue

    merge = getattr(glue, "merge_attention", None)
    if merge is None:
        return None
    seed = secrets.randbits(31)
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    shape = (2, 3, 77, 64)
    out_a = torch.randn(shape, generator=gen, device=device).to(dtype)
    out_b = torch.randn(shape, generator=gen, device=device).to(dtype)
    lse_a = torch.randn(shape[:3], generator=gen, device=device) * 3
    lse_b = torch.randn(shape[:3], generator=gen, device=device) * 3
    lse_b[:, :, ::5] = float("-inf")  # an empty partial contributes nothing
    out_b[:, :, ::5] = float("nan")  # ... and is never read
    out, lse = merge(out_a, lse_a, out_b, lse_b, backend="cuda" if device.type == "cuda" else "cpu")
    _sync(device)
    backend = glue.last_backend()
    la, lb = lse_a.double(), lse_b.double()
    ref_lse = torch.logaddexp(la, lb)
    wa = torch.exp(la - ref_lse)[..., None]
    wb = torch.where(torch.isinf(lb), 0.0, torch.exp(lb - ref_lse))[..., None]
    ref = out_a.double() * wa + torch.nan_to_num(out_b.double()) * wb
    err = relative_error(out, ref)
    lerr = lse_error(lse, ref_lse)
    bound = OUT_BOUND[dtype]
    ok = backend == device.type and err <= bound and lerr <= 1e-5
    return Outcome(
        f"merge_attention {str(dtype).replace('torch.', '')}", seed, err, lerr, bound, 1e-5, backend, ok
    )


def correctness_matrix(quick: bool) -> list[Case]:
    """The CPU suite's grids and knobs, plus grids large enough for several tiles and key blocks."""
    cases: list[Case] = []
    specs = [
        (0, False, 0),
        (1, False, 0),
        (2, True, 0),
        (1, False, 2),
        (0, True, 3),
        (1, True, 7),
        (-1, False, 0),
        (1, False, 1),
        (2, False, 4),
        (1, True, 4),
    ]
    grids = [(5, 3, 7), (1, 4, 4), (7, 2, 3), (4, 5, 5), (5, 9, 31), (9, 12, 17)]
    if quick:
        grids = [(5, 3, 7), (5, 9, 31)]
        specs = [(1, False, 0), (2, True, 0), (1, True, 4), (-1, False, 0), (1, False, 1)]
    for grid in grids:
        for window, anchor, far in specs:
            for global_tokens in (0, 3):
                cases.append(Case(grid, window, anchor, far, global_tokens, return_lse=len(cases) % 3 != 2))
    # Every dtype and head dim on a multi-tile grid with everything on.
    for dtype in (torch.float16, torch.bfloat16):
        for head_dim in (64, 128):
            cases.append(Case((5, 9, 31), 1, True, 2, 3, head_dim, dtype))
            cases.append(
                Case((6, 16, 20), 2, False, 4, 130, head_dim, dtype, batch=2, heads=3, token_major=True)
            )
            if not quick:
                cases.append(Case((7, 2, 3), 0, True, 1, 0, head_dim, dtype))
                cases.append(
                    Case((9, 12, 17), 1, False, 2, 0, head_dim, dtype, token_major=True, return_lse=False)
                )
    return cases


def subset_cases(quick: bool) -> list[Case]:
    """The key subsets of spatial freeze (skipped when the dispatcher keeps them off CUDA)."""
    cases = []
    for subset in ("own_frame", "other_frames"):
        cases.append(Case((5, 9, 31), 1, True, 2, 3, subset=subset))
        if not quick:
            cases.append(Case((7, 2, 3), 0, False, 0, 130, 64, torch.float16, subset=subset))
            cases.append(Case((4, 5, 5), -1, False, 0, 3, subset=subset))
    return cases


def glue_cases(quick: bool) -> list[Case]:
    """A few cases through the public entry point (the glue allocates the outputs)."""
    cases = [
        Case((5, 9, 31), 1, True, 2, 3),
        Case((6, 16, 20), 2, False, 0, 0, 64, torch.float16, token_major=True, return_lse=False),
    ]
    return cases[:1] if quick else cases


def batched_cases(quick: bool) -> list[Case]:
    """The matrix's cases the frame-batched path computes (no far field, all keys)."""
    return [c for c in correctness_matrix(quick) if c.far_field == 0 and not c.far_8bit] + [
        Case((16, 22, 40), 1, True, 0, 0, 128, torch.bfloat16, token_major=True, return_lse=False),
        Case((13, 16, 28), 2, True, 0, 5, 64, torch.float16, batch=2, heads=3, token_major=True),
    ]


def dense_cases(quick: bool) -> list[Case]:
    cases = []
    for dtype in (torch.float16, torch.bfloat16):
        for head_dim in (64, 128):
            cases.append(Case((5, 9, 31), 4, True, 2, 0, head_dim, dtype))  # K = F - 1
            if not quick:
                cases.append(Case((4, 5, 5), 9, False, 4, 0, head_dim, dtype))  # K > F - 1
                cases.append(Case((6, 16, 20), -1, False, 0, 0, head_dim, dtype, heads=3))  # window off
    return cases


def eight_bit_cases(quick: bool) -> list[Case]:
    cases = [Case((7, 4, 6), 1, False, 2, 0, 64, torch.bfloat16, far_8bit=True)]
    if not quick:
        cases.append(Case((6, 16, 20), 1, True, 4, 3, 128, torch.bfloat16, far_8bit=True))
        cases.append(Case((6, 16, 20), 1, False, 2, 0, 128, torch.float16, far_8bit=True))
        cases.append(Case((9, 12, 17), 2, False, 1, 0, 128, torch.bfloat16, far_8bit=True))
    return cases


def run_all(quick: bool, device: torch.device, log: Callable[[str], None]) -> list[Outcome]:
    outcomes: list[Outcome] = []

    def record(o: Outcome | None) -> None:
        if o is None:
            return
        outcomes.append(o)
        lse = "" if o.lse_error is None else f" lse {o.lse_error:.2e} (<= {o.lse_bound:.0e})"
        extra = "".join(f" {k} {v:.2e}" for k, v in o.extra.items())
        status = "ok  " if o.ok else "FAIL"
        log(
            f"{status} {o.case}: out {o.out_error:.2e} (<= {o.out_bound:.0e}){lse}{extra} seed={o.seed} {o.note}".rstrip()
        )

    for case in correctness_matrix(quick):
        record(check_case(case, device))
    for case in subset_cases(quick):
        record(check_case(case, device))
    for case in glue_cases(quick):
        record(check_case(case, device, runner=run_glue))
    for case in batched_cases(quick):
        record(check_case(case, device, runner=run_batched, expect=batched_expectation(device, case.dtype)))
    # The same path with ATen's ops and copies (the fallback when cuDNN's graph API is absent).
    from ltx2_efficient.torch_glue import cudnn_graph

    with cudnn_graph.turned_off():
        for case in batched_cases(True)[-2:]:
            record(check_case(case, device, runner=run_batched, expect="batched/aten"))
    for case in dense_cases(quick):
        record(check_dense_equivalence(case, device))
    for case in eight_bit_cases(quick):
        record(check_8bit_far_field(case, device))
    for dtype in (torch.float16, torch.bfloat16):
        record(check_merge(device, dtype))
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kernel", choices=["auto", "mma"], default="auto")
    parser.add_argument("--quick", action="store_true", help="a smaller matrix")
    parser.add_argument("--json", help="write every outcome to this JSON file")
    parser.add_argument(
        "--device",
        default="cuda",
        help="cpu: run the matrix against the CPU kernel (a self-test of this script)",
    )
    args = parser.parse_args()
    os.environ["LTX2EFF_CUDA_ATTENTION_KERNEL"] = args.kernel
    device = torch.device(args.device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            print("no CUDA device: nothing to check", file=sys.stderr)
            return 2
        import ltx2_efficient

        if not ltx2_efficient.built_with_cuda:
            print("this build of ltx2_efficient has no CUDA kernels", file=sys.stderr)
            return 2
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device: {name}; kernel: {args.kernel}", flush=True)
    outcomes = run_all(args.quick, device, lambda s: print(s, flush=True))
    failed = [o for o in outcomes if not o.ok]
    skipped = [o for o in outcomes if o.note.startswith("skipped")]
    print(
        f"{len(outcomes) - len(failed) - len(skipped)}/{len(outcomes)} checks passed, {len(skipped)} skipped, {len(failed)} failed (kernel {args.kernel})"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(
                {
                    "device": torch.cuda.get_device_name(device),
                    "kernel": args.kernel,
                    "outcomes": [asdict(o) for o in outcomes],
                },
                fh,
                indent=1,
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
