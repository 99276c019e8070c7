"""Window attention as a torch custom op, ``torch.ops.ltx2eff.window_attention``, for torch.compile.

torch.compile (ComfyUI's TorchCompileModel) cannot trace into the attention dispatcher (it calls
the C++ core, reads the environment and times backends), so a model that calls it directly
breaks its graph there. Through this op the compiler sees one opaque node whose output shapes a
fake kernel gives (``register_fake``), and compiles the rest of the model around it; at run time
the op runs :func:`ltx2_efficient.torch_glue.attention.attend` as usual. Its gradient (for
training through a compiled model) recomputes the call on the chunked-torch backend and
differentiates that.

An op's schema takes primitive types only, so its arguments after q, k, v are the fields of an
:class:`AttentionCall` in order (grid as a list) and the backend ("" meaning the environment's
choice), all required: :func:`op_arguments` flattens a call into them and :func:`call_of` builds
the call back (the op, its fake kernel and its autograd context all use it). The op returns
(out, lse); lse is float32 [B, heads, T] when ``need_lse`` is set and an empty float32 tensor
otherwise (an op returns tensors only); both are contiguous whatever q's strides.
"""

# No `from __future__ import annotations`: torch.library reads the annotations as types.

from collections.abc import Sequence
from dataclasses import fields
from typing import Any

import torch

from ltx2_efficient.torch_glue.attention import attend
from ltx2_efficient.torch_glue.attention_call import AttentionCall

OP_NAME = "ltx2eff::window_attention"
# The op's arguments after q, k, v: these fields of AttentionCall in this order (grid as a list,
# since a schema takes no tuples), then the backend.
CALL_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(AttentionCall))


def op_arguments(call: AttentionCall, backend: str | None = None) -> tuple[Any, ...]:
    """The op's arguments after q, k, v for ``call`` on ``backend`` (None: the environment's)."""
    values = [getattr(call, name) for name in CALL_FIELDS]
    return (list(call.grid), *values[1:], backend or "")


def call_of(options: Sequence[Any]) -> tuple[AttentionCall, str | None]:
    """The validated call and the backend (None: the environment's) that the op's arguments after
    q, k, v stand for: what the op, its fake kernel and its autograd context all build."""
    grid, *values, backend = options
    return AttentionCall(tuple(grid), *values), backend or None


@torch.library.custom_op(OP_NAME, mutates_args=())
def window_attention_op(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    grid: list[int],
    window: int,
    global_tokens: int,
    anchor_frame: bool,
    far_field: int,
    precision: str,
    scale: float | None,
    subset: str,
    need_lse: bool,
    backend: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    call, chosen = call_of(
        (grid, window, global_tokens, anchor_frame, far_field, precision, scale, subset, need_lse, backend)
    )
    result = attend(q, k, v, call, chosen)
    lse = result.lse if result.lse is not None else q.new_empty((0,), dtype=torch.float32)
    return result.out.contiguous(), lse.contiguous()  # the layout the fake kernel promises


@window_attention_op.register_fake
def _window_attention_fake(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *options: Any
) -> tuple[torch.Tensor, torch.Tensor]:
    call, _ = call_of(options)  # a bad call fails while tracing, as it would when run
    batch, heads, tokens, _ = q.shape
    lse_shape = (batch, heads, tokens) if call.need_lse else (0,)
    return q.new_empty(q.shape), q.new_empty(lse_shape, dtype=torch.float32)  # contiguous


def _setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[torch.Tensor, torch.Tensor]) -> None:
    q, k, v, *options = inputs
    ctx.save_for_backward(q, k, v)
    ctx.call, _ = call_of(options)


def _backward(ctx: Any, grad_out: torch.Tensor, grad_lse: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
    """Gradients by recomputing the call on the chunked-torch backend (plain differentiable torch
    ops, the same function as every backend) and differentiating that."""
    q, k, v = ctx.saved_tensors
    call: AttentionCall = ctx.call
    with torch.enable_grad():
        leaves = [t.detach().requires_grad_(t.requires_grad) for t in (q, k, v)]
        result = attend(*leaves, call, "torch")
        outputs, grads = [result.out], [grad_out]
        if call.need_lse and result.lse is not None and grad_lse is not None and grad_lse.numel():
            outputs.append(result.lse)
            grads.append(grad_lse)
        wanted = [t for t in leaves if t.requires_grad]
        found = iter(torch.autograd.grad(outputs, wanted, grads, allow_unused=True) if wanted else ())
    dq, dk, dv = (next(found) if t.requires_grad else None for t in leaves)
    return (dq, dk, dv) + (None,) * (len(CALL_FIELDS) + 1)  # nothing for the call and the backend


window_attention_op.register_autograd(_backward, setup_context=_setup_context)


def call_op(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, call: AttentionCall) -> torch.Tensor:
    """``call``'s output through the custom op (what compiled code runs)."""
    out, _ = torch.ops.ltx2eff.window_attention(q, k, v, *op_arguments(call))
    return out
