"""The window-attention backends behind one interface: can it run this call (and why not), run it.

Each backend takes validated tensors, already in the call's compute dtype, and an
:class:`AttentionCall`; ``why_not(q, call)`` is None when it can run the call, else a short
reason. ``run`` returns (out, lse or None). The C++ kernel may still raise ``_core.Unavailable``
for a case only it knows it cannot do (a head dim or dtype its CUDA kernel lacks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch

from ltx2_efficient import _core
from ltx2_efficient.torch_glue import attention_batched
from ltx2_efficient.torch_glue.attention_batched import frame_batched_attention
from ltx2_efficient.torch_glue.attention_call import AttentionCall
from ltx2_efficient.torch_glue.attention_fallback import torch_window_attention

Result = tuple[torch.Tensor, torch.Tensor | None]


class Backend(Protocol):
    name: str

    def why_not(self, q: torch.Tensor, call: AttentionCall) -> str | None: ...

    def run(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, call: AttentionCall) -> Result: ...


@dataclass(frozen=True)
class CoreKernel:
    """The C++ kernel: ``cpu`` for CPU tensors, ``cuda`` for CUDA tensors in a CUDA build."""

    name: str  # "cpu" or "cuda"

    def why_not(self, q: torch.Tensor, call: AttentionCall) -> str | None:
        if self.name == "cpu" and q.is_cuda:
            return f"needs CPU tensors, got {q.device}"
        if self.name == "cuda" and not q.is_cuda:
            return f"needs CUDA tensors, got {q.device}"
        if self.name == "cuda" and not _core.cuda_kernels_built():
            return "this build has no CUDA kernels"
        return None

    def run(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, call: AttentionCall) -> Result:
        tensors = [t.detach() if t.stride(-1) == 1 else t.detach().contiguous() for t in (q, k, v)]
        out = torch.empty(q.shape, dtype=q.dtype, device=q.device)
        lse = torch.empty(q.shape[:3], dtype=torch.float32, device=q.device) if call.need_lse else None
        stream = torch.cuda.current_stream(q.device).cuda_stream if q.is_cuda else 0
        _core.window_attention(*tensors, out, lse, stream=stream, **call.core_options())
        return out, lse


@dataclass(frozen=True)
class FrameBatched:
    """Frame-batched fused SDPA over in-place K/V views (``attention_batched``); any device."""

    name: str = "batched"

    def why_not(self, q: torch.Tensor, call: AttentionCall) -> str | None:
        return attention_batched.supports(call)

    def run(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, call: AttentionCall) -> Result:
        return frame_batched_attention(q, k, v, call)


@dataclass(frozen=True)
class ChunkedTorch:
    """Chunked PyTorch SDPA with the same semantics (``attention_fallback``); any device, any call."""

    name: str = "torch"

    def why_not(self, q: torch.Tensor, call: AttentionCall) -> str | None:
        return None

    def run(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, call: AttentionCall) -> Result:
        return torch_window_attention(q, k, v, call)


CPU_KERNEL = CoreKernel("cpu")
CUDA_KERNEL = CoreKernel("cuda")
BATCHED = FrameBatched()
TORCH = ChunkedTorch()
BY_NAME: dict[str, Backend] = {b.name: b for b in (CPU_KERNEL, CUDA_KERNEL, BATCHED, TORCH)}


def kernel_for(q: torch.Tensor) -> CoreKernel:
    """The C++ kernel for q's device."""
    return CUDA_KERNEL if q.is_cuda else CPU_KERNEL
