"""Temporal-window attention on torch tensors: the public entry point of the attention engine.

``window_attention(q, k, v, *, grid, window, ...)`` takes ``[B, heads, T, D]`` tensors (CPU or
CUDA) whose first ``F * H * W`` tokens are the latent grid ``grid = (F, H, W)`` in frame-major
order and whose last ``global_tokens`` tokens are global (appended conditioning tokens). A grid
query in frame f attends exactly to the frames of its window (``min(F, 2K + 1)`` frames centred
on f, shifted inward at the borders), to frame 0 when ``anchor_frame`` is on, and to every global
key; with ``far_field = p > 0`` it also sees every other frame through p x p average-pooled keys
and values, each pooled logit getting ``+ log(count)`` for the tokens its cell stands for. Global
queries attend to all keys exactly. ``window = -1`` or ``K >= F - 1`` is dense attention.
With ``return_lse`` it also returns the float32 ``[B, heads, T]`` log-sum-exp (natural log,
including the ``1/sqrt(D)`` scale), so partial attentions can be merged with
:func:`merge_attention`.

Every call is one frozen :class:`AttentionCall` (``attention_call``: the C++ AttentionOptions plus
the key subset and whether the LSE is wanted); :func:`attend` runs it and returns the output with
the name of the backend that ran (``last_backend()`` says the same for this thread's last call).
Backends (``attention_backends``; each says whether it can run a call and why not; each fallback
is logged once per reason):
- ``"cuda"``: the C++ CUDA kernel, for CUDA tensors when the build has CUDA kernels and the
  kernel supports the case (head dim, dtype, device);
- ``"cpu"``: the C++ CPU kernel, for CPU tensors;
- ``"batched"``: frame-batched SDPA (see ``attention_batched``): the window plan as two batched
  calls of the platform's fused attention over overlapping in-place K/V views, plus LSE-merged
  partials for the anchor frame and global tokens; any device, no far field or key subsets;
- ``"torch"``: chunked PyTorch SDPA with identical semantics (see ``attention_fallback``), on any
  device, one call per group of query frames.
On a GPU, "auto" times every path that can serve the call on its first call of a shape and keeps
the fastest (``cuda_autotune``); without autotuning it runs the kernel, else the torch path.
``LTX2EFF_ATTENTION_BACKEND=auto|cpu|cuda|torch|batched`` (read by ``ltx2_efficient.config``; the
``backend`` argument wins) forces one: "cpu", "cuda" and "batched" raise when they cannot run the call instead of
falling back; "torch" runs the torch path on any device (tests use it to check the fallback on
the CPU).

Precision policy (``precision``), applied before any backend runs; the output always has the
input dtype and the LSE is always float32:
- ``"auto"``: compute in the input dtype (fp32 accumulation in every backend's products);
- ``"fp32"``: upcast q, k, v to float32 (slow; for checks);
- ``"bf16"`` / ``"fp16"``: cast q, k, v to bfloat16 / float16;
- ``"fp8-far-field"``: exact keys in the input dtype; the pooled far-field logits come from 8-bit
  quantised queries and pooled keys (symmetric per-row int8 with float32 scales; emulated on the
  CPU and in the torch path). Has no effect without a far field.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass, replace

import torch

from ltx2_efficient import _core, config
from ltx2_efficient.torch_glue import attention_backends as backends
from ltx2_efficient.torch_glue import cuda_autotune
from ltx2_efficient.torch_glue.attention_call import DTYPES, PRECISIONS, SUBSETS, AttentionCall

log = logging.getLogger(__name__)

BACKENDS = config.ATTENTION_BACKENDS
BACKEND_ENV = config.ATTENTION_BACKEND_ENV
__all__ = [
    "BACKENDS", "BACKEND_ENV", "PRECISIONS", "SUBSETS", "AttentionCall", "AttentionResult", "attend", "last_backend", "merge_attention", "window_attention",
    "window_attention_subset",
]  # fmt: skip

_this_thread = threading.local()  # the backend of this thread's last call, for last_backend()
_logged_fallbacks: set[str] = set()


@dataclass(frozen=True)
class AttentionResult:
    out: torch.Tensor  # [B, heads, T, D] in q's dtype
    lse: torch.Tensor | None  # float32 [B, heads, T] when the call asked for it
    backend: str  # which ran: "cuda", "cpu", "batched" or "torch"


def last_backend() -> str:
    """The backend of this thread's most recent call: "cuda", "cpu", "batched" or "torch"
    ("none" before any). Code that makes the call should read ``attend(...).backend`` instead."""
    return getattr(_this_thread, "backend", "none")


def _resolve_backend(backend: str | None) -> str:
    if backend is None:
        return config.attention_backend()
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {' '.join(BACKENDS)}, got {backend!r}")
    return backend


def _log_fallback(reason: str) -> None:
    if reason not in _logged_fallbacks:
        _logged_fallbacks.add(reason)
        log.info("window attention: torch fallback (%s)", reason)


Run = tuple[torch.Tensor, torch.Tensor | None, str]


def _forced(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, call: AttentionCall, mode: str) -> Run:
    """The backend the caller or the environment named; it raises rather than falls back."""
    backend = backends.BY_NAME[mode]
    reason = backend.why_not(q, call)
    if reason is not None:
        raise ValueError(f"backend {mode!r} cannot run this call: {reason}")
    return (*backend.run(q, k, v, call), mode)


def _candidates(q: torch.Tensor, call: AttentionCall) -> dict[str, backends.Backend]:
    """Every backend that can run the call, the C++ kernel first, chunked torch last."""
    found: dict[str, backends.Backend] = {}
    for backend in (backends.kernel_for(q), backends.BATCHED, backends.TORCH):
        if backend.why_not(q, call) is None:
            found[backend.name] = backend
    return found


def _autotuned(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, call: AttentionCall, found: dict[str, backends.Backend]
) -> Run | None:
    """On a GPU: the fastest candidate for this shape (timed on its first call); None when the
    choice is the kernel, which ``_preferred`` runs with its fallback."""
    key = (q.device, q.dtype, tuple(q.shape), tuple(k.shape), call)
    choice = cuda_autotune.cached_choice(key)
    if choice is None:
        runs = {name: (lambda b=b: b.run(q, k, v, call)) for name, b in found.items()}
        # Timed on q's device: its events, its stream and its L2 (the caller's current device
        # may be another GPU).
        with torch.cuda.device(q.device):
            choice, (out, lse) = cuda_autotune.pick(key, runs, call.describe(q))
        return out, lse, choice
    if choice == backends.CUDA_KERNEL.name:
        return None
    return (*found[choice].run(q, k, v, call), choice)


def _preferred(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, call: AttentionCall, found: dict[str, backends.Backend]
) -> Run:
    """The C++ kernel when it can run the call, else (or when it turns out unavailable) torch."""
    kernel = backends.kernel_for(q)
    if kernel.name in found:
        try:
            return (*kernel.run(q, k, v, call), kernel.name)
        except _core.Unavailable as error:
            _log_fallback(str(error))
    else:
        _log_fallback(kernel.why_not(q, call) or "the kernel cannot run this call")
    return (*backends.TORCH.run(q, k, v, call), backends.TORCH.name)


def _dispatch(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, call: AttentionCall, mode: str) -> Run:
    """Runs validated tensors (already in the compute dtype) on the backend ``mode`` picks."""
    if mode != "auto":
        return _forced(q, k, v, call, mode)
    found = _candidates(q, call)
    tune = q.is_cuda and len(found) > 1 and cuda_autotune.enabled() and not cuda_autotune.capturing()
    ran = _autotuned(q, k, v, call, found) if tune else None
    return ran if ran is not None else _preferred(q, k, v, call, found)


def attend(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, call: AttentionCall, backend: str | None = None
) -> AttentionResult:
    """Window attention of [B, heads, T, D] tensors as ``call`` says, on ``backend`` (None: the
    environment's choice, else auto). Raises ValueError naming the parameter for bad input."""
    if not isinstance(call, AttentionCall):
        raise ValueError(f"call must be an AttentionCall, got {type(call).__name__}")
    call.check_tensors(q, k, v)
    mode = _resolve_backend(backend)
    compute = call.compute_dtype(q.dtype)
    out, lse, used = _dispatch(q.to(compute), k.to(compute), v.to(compute), call, mode)
    _this_thread.backend = used
    return AttentionResult(out.to(q.dtype), lse, used)


def window_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    grid: tuple[int, int, int],
    window: int,
    global_tokens: int = 0,
    anchor_frame: bool = False,
    far_field: int = 0,
    return_lse: bool = False,
    precision: str = "auto",
    backend: str | None = None,
    scale: float | None = None,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Temporal-window attention of [B, heads, T, D] tensors (see the module docstring).

    Returns out [B, heads, T, D] in q's dtype, and with ``return_lse`` also the float32
    [B, heads, T] log-sum-exp. Raises ValueError naming the parameter for bad input.
    """
    call = AttentionCall(
        grid, window, global_tokens, anchor_frame, far_field, precision, scale, need_lse=return_lse
    )
    result = attend(q, k, v, call, backend)
    if return_lse:
        assert result.lse is not None
        return result.out, result.lse
    return result.out


def window_attention_subset(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    call: AttentionCall,
    *,
    subset: str,
    backend: str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``call``'s window attention over a subset of each query's keys; returns (out, lse).

    subset "own_frame": grid queries see only their own frame, global queries nothing (out 0,
    lse -inf); "other_frames": the window's keys minus the own frame (global queries see all);
    "all": the whole window. merge_attention(own_frame, other_frames) equals "all". The subset
    and the log-sum-exp replace the call's own ``subset`` and ``need_lse``.
    """
    if not isinstance(call, AttentionCall):
        raise ValueError(f"call must be an AttentionCall, got {type(call).__name__}")
    result = attend(q, k, v, replace(call, subset=subset, need_lse=True), backend)
    assert result.lse is not None
    return result.out, result.lse


def _torch_merge(
    out_a: torch.Tensor, lse_a: torch.Tensor, out_b: torch.Tensor, lse_b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    lse = torch.logaddexp(lse_a, lse_b)
    # A zero weight reads nothing, so an empty partial (lse = -inf) adds nothing whatever its out.
    weight_a = torch.where(lse_a == -math.inf, 0.0, torch.exp(lse_a - lse))[..., None]
    weight_b = torch.where(lse_b == -math.inf, 0.0, torch.exp(lse_b - lse))[..., None]
    merged = torch.where(weight_a == 0, 0.0, weight_a * out_a.float()) + torch.where(
        weight_b == 0, 0.0, weight_b * out_b.float()
    )
    return merged.to(out_a.dtype), lse


def merge_attention(
    out_a: torch.Tensor,
    lse_a: torch.Tensor,
    out_b: torch.Tensor,
    lse_b: torch.Tensor,
    *,
    backend: str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Merges two partial attentions over disjoint key sets by log-sum-exp: (out, lse).

    out_* are [B, heads, T, D] (one dtype and device), lse_* float32 [B, heads, T]. A partial
    with lse = -inf contributes nothing.
    """
    for name, t in (("out_a", out_a), ("lse_a", lse_a), ("out_b", out_b), ("lse_b", lse_b)):
        if not isinstance(t, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if out_a.dim() != 4 or out_a.dtype not in DTYPES:
        raise ValueError(
            f"out_a must be a float [B, heads, T, D] tensor, got {out_a.dtype} {tuple(out_a.shape)}"
        )
    if out_b.shape != out_a.shape or out_b.dtype != out_a.dtype or out_b.device != out_a.device:
        raise ValueError(
            f"out_b must match out_a ({out_a.dtype} {tuple(out_a.shape)} on {out_a.device}), got "
            f"{out_b.dtype} {tuple(out_b.shape)} on {out_b.device}"
        )
    for name, t in (("lse_a", lse_a), ("lse_b", lse_b)):
        if t.shape != out_a.shape[:3] or t.dtype != torch.float32 or t.device != out_a.device:
            raise ValueError(
                f"{name} must be float32 {tuple(out_a.shape[:3])} on {out_a.device}, got "
                f"{t.dtype} {tuple(t.shape)} on {t.device}"
            )
    mode = _resolve_backend(backend)
    if mode == "torch" or (out_a.is_cuda and mode == "auto" and not _core.cuda_kernels_built()):
        _this_thread.backend = "torch"
        return _torch_merge(out_a, lse_a, out_b, lse_b)
    if mode == "cpu" and out_a.is_cuda:
        raise ValueError(f"backend 'cpu' needs CPU tensors, got {out_a.device}")
    if mode == "cuda" and not out_a.is_cuda:
        raise ValueError(f"backend 'cuda' needs CUDA tensors, got {out_a.device}")
    tensors = [t.detach().contiguous() for t in (out_a, lse_a, out_b, lse_b)]
    out = torch.empty(out_a.shape, dtype=out_a.dtype, device=out_a.device)
    lse = torch.empty(out_a.shape[:3], dtype=torch.float32, device=out_a.device)
    stream = torch.cuda.current_stream(out_a.device).cuda_stream if out_a.is_cuda else 0
    try:
        _core.merge_attention(*tensors, out, lse, stream=stream)
    except _core.Unavailable as error:
        if mode != "auto":
            raise
        _log_fallback(str(error))
        _this_thread.backend = "torch"
        return _torch_merge(out_a, lse_a, out_b, lse_b)
    _this_thread.backend = "cuda" if out_a.is_cuda else "cpu"
    return out, lse
