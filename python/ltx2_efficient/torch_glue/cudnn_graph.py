"""Fused attention written in place over strided views, through cuDNN's graph API (optional).

The frame-batched path (``attention_batched``) runs the window plan as batched attention over
overlapping strided K/V views. ATen's fused ops allocate their own output, so each batch then
copies its output (and log-sum-exp) into the result; at 5,824 tokens on an H100 that copy is
about a sixth of the call. cuDNN's graph API takes any strides for every operand, the output and
the softmax statistics included, so a batch can write straight into the result's frames. This
module builds one graph per view layout (shapes, strides, dtype, device, scale), keeps it, and
runs it on torch's current stream.

Optional: it needs the ``cudnn`` module of NVIDIA's ``nvidia-cudnn-frontend`` package (the
cuDNN library itself comes with PyTorch's CUDA wheels). Without it, on the CPU, for float32, or
when cuDNN declines a layout, :func:`attend_into` returns False and the caller takes ATen's ops
and the copy. ``LTX2EFF_CUDNN_GRAPH=0`` turns it off.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch

from ltx2_efficient import config

log = logging.getLogger(__name__)

ENV = config.CUDNN_GRAPH_ENV
_IO_TYPES = {torch.bfloat16: "BFLOAT16", torch.float16: "HALF"}
_lock = threading.Lock()
_module: Any = None
_module_error: str | None = None
_handles: dict[int, Any] = {}
_graphs: dict[Hashable, _Graph] = {}
_declined: dict[Hashable, str] = {}
_counts = {"executed": 0, "declined": 0}
# Graphs kept (each holds a built cuDNN plan): two or three per video size and window; the least
# recently used goes first when a long session has seen more layouts than this (declined layouts
# are capped the same way).
MAX_GRAPHS = 64


def enabled() -> bool:
    """Whether the in-place path may run (``LTX2EFF_CUDNN_GRAPH``, default on; see ``config``)."""
    return config.cudnn_graph()


@contextmanager
def turned_off() -> Iterator[None]:
    """Within the block the in-place path stays off in this thread, as with
    ``LTX2EFF_CUDNN_GRAPH=0``; the environment is not touched."""
    with config.overridden({ENV: "0"}):
        yield


def _cudnn() -> Any:
    """The ``cudnn`` module, or None (the import error is kept for ``unavailable_reason``)."""
    global _module, _module_error
    if _module is None and _module_error is None:
        try:
            _module = importlib.import_module("cudnn")
            if not hasattr(_module, "pygraph"):
                _module, _module_error = None, "the installed 'cudnn' module has no graph API (pygraph)"
        except Exception as exc:  # any import failure: not available
            _module_error = f"nvidia-cudnn-frontend is not importable ({type(exc).__name__}: {exc})"
    return _module


def unavailable_reason(q: torch.Tensor) -> str | None:
    """None when the in-place path can be tried for tensors like ``q``, else why not."""
    if not enabled():
        return f"{ENV} is off"
    if not q.is_cuda:
        return "the tensors are not on a CUDA device"
    if q.dtype not in _IO_TYPES:
        return f"cuDNN's fused attention takes float16 or bfloat16, not {q.dtype}"
    if _cudnn() is None:
        return _module_error
    return None


@dataclass
class _Graph:
    graph: Any
    q: Any
    k: Any
    v: Any
    out: Any
    stats: Any
    workspace: int


def _handle(cudnn: Any, device: torch.device) -> Any:
    """The device's cuDNN handle (created on first use; the caller has made ``device`` current)."""
    index = device.index if device.index is not None else torch.cuda.current_device()
    with _lock:
        if index not in _handles:
            _handles[index] = cudnn.create_handle()
        return _handles[index]


def _trim(cache: dict[Hashable, Any]) -> None:
    """Drops the oldest entries past ``MAX_GRAPHS`` (insertion order: re-inserted on use)."""
    while len(cache) > MAX_GRAPHS:
        del cache[next(iter(cache))]


# q, k, v, out and the log-sum-exp (or None) of one batch.
Views = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]


def _build(cudnn: Any, handle: Any, views: Views, scale: float) -> _Graph:
    q, k, v, out, lse = views
    io = getattr(cudnn.data_type, _IO_TYPES[q.dtype])
    f32 = cudnn.data_type.FLOAT
    g = cudnn.pygraph(io_data_type=io, intermediate_data_type=f32, compute_data_type=f32, handle=handle)

    def declare(name: str, t: torch.Tensor) -> Any:
        return g.tensor(name=name, dim=list(t.shape), stride=list(t.stride()), data_type=io)

    tq, tk, tv = declare("q", q), declare("k", k), declare("v", v)
    o, stats = g.sdpa(name="window", q=tq, k=tk, v=tv, attn_scale=scale, generate_stats=lse is not None)
    o.set_output(True).set_dim(list(out.shape)).set_stride(list(out.stride())).set_data_type(io)
    if lse is not None:
        stats.set_output(True).set_dim([*lse.shape, 1]).set_stride([*lse.stride(), 1]).set_data_type(f32)
    g.validate()
    g.build_operation_graph()
    g.create_execution_plans([cudnn.heur_mode.A, cudnn.heur_mode.FALLBACK])
    g.check_support()
    g.build_plans()
    return _Graph(g, tq, tk, tv, o, stats if lse is not None else None, int(g.get_workspace_size()))


def _plan_name(graph: _Graph) -> str:
    try:
        return str(graph.graph.get_plan_name_at_index(0))
    except Exception:  # the name is for the log only
        return "plan name unknown"


def _layout(t: torch.Tensor | None) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    return None if t is None else (tuple(t.shape), tuple(t.stride()))


def _unsupported_call(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, out: torch.Tensor, lse: torch.Tensor | None
) -> str | None:
    """Why this particular call stays off the graph path (None: it may take it)."""
    views = (q, k, v, out)
    if any(t.dtype != q.dtype or t.device != q.device for t in views):
        return "q, k, v and out differ in dtype or device"
    if lse is not None and (lse.dtype != torch.float32 or lse.device != q.device):
        return "lse is not float32 on q's device"
    if any(t.data_ptr() % 16 for t in views):
        return "a view is not 16-byte aligned"
    if torch.is_grad_enabled() and any(t.requires_grad for t in (q, k, v)):
        return "gradients are requested (the graph path is inference only)"
    return None


def _decline(key: Hashable, reason: str, q: torch.Tensor) -> bool:
    """Remembers a layout that stays off the graph path; the first such layout is a warning (a
    frontend that cannot serve this machine at all shows up once), later ones are info."""
    _declined[key] = reason
    _trim(_declined)
    _counts["declined"] += 1
    level = logging.WARNING if len(_declined) == 1 and _counts["executed"] == 0 else logging.INFO
    log.log(level, "cuDNN graph path declined %s views %s: %s", q.dtype, _layout(q), reason[:300])
    return False


def attend_into(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    out: torch.Tensor,
    lse: torch.Tensor | None,
    scale: float,
) -> bool:
    """out <- softmax(scale q k^T) v for [N, heads, S, D] views (k, v may overlap between batch
    items), and lse <- the float32 [N, heads, S] log-sum-exp when given, both written in place.
    False when the in-place path is unavailable, the call or its layout is one it does not take,
    or cuDNN declines the layout or fails to run it (the caller then computes the batch another
    way, over the same views). Nothing here raises for a cuDNN or frontend failure."""
    if unavailable_reason(q) is not None or _unsupported_call(q, k, v, out, lse) is not None:
        return False
    cudnn = _cudnn()
    key = (
        q.device,
        q.dtype,
        float(scale),
        _layout(q),
        _layout(k),
        _layout(v),
        _layout(out),
        _layout(lse),
    )
    if key in _declined:
        _counts["declined"] += 1
        return False
    graph = _graphs.pop(key, None)
    if graph is None and torch.cuda.is_current_stream_capturing():
        return False  # no graph is built while a CUDA graph is being captured
    with torch.cuda.device(q.device):
        try:
            handle = _handle(cudnn, q.device)
            if graph is None:
                graph = _build(cudnn, handle, (q, k, v, out, lse), scale)
                log.info(
                    "cuDNN graph in place (%s): q %s, k %s, out strides %s, lse %s",
                    _plan_name(graph),
                    tuple(q.shape),
                    tuple(k.shape),
                    tuple(out.stride()),
                    "yes" if lse is not None else "no",
                )
        except Exception as exc:  # cuDNN declining a layout (or a frontend that cannot run)
            return _decline(key, f"{type(exc).__name__}: {exc}", q)
        _graphs[key] = graph  # most recently used last: the oldest goes first past the cap
        _trim(_graphs)
        try:
            cudnn.set_stream(handle, torch.cuda.current_stream(q.device).cuda_stream)
            workspace = torch.empty(max(graph.workspace, 1), dtype=torch.uint8, device=q.device)
            pack = {graph.q: q, graph.k: k, graph.v: v, graph.out: out}
            if graph.stats is not None:
                assert lse is not None
                pack[graph.stats] = lse.unsqueeze(-1)
            graph.graph.execute(pack, workspace, handle=handle)
        except Exception as exc:  # an engine that builds but cannot run here: leave it to ATen
            _graphs.pop(key, None)
            return _decline(key, f"execute: {type(exc).__name__}: {exc}", q)
    _counts["executed"] += 1
    return True


def status() -> dict[str, Any]:
    """What the in-place path has done so far: module state, graphs built, batches executed and
    declined, and why each declined layout was declined."""
    return {
        "enabled": enabled(),
        "module": None if _module is None else getattr(_module, "__version__", "unknown"),
        "module_error": _module_error,
        "graphs": len(_graphs),
        "executed": _counts["executed"],
        "declined_calls": _counts["declined"],
        "declined": dict(_declined),
    }
