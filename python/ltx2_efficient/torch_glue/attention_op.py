"""Window attention as a torch custom op, ``torch.ops.ltx2eff.window_attention``, for torch.compile.

torch.compile (ComfyUI's TorchCompileModel) cannot trace into the attention dispatcher (it calls
the C++ core, reads the environment and times backends), so a model that calls it directly
breaks its graph there. Through this op the compiler sees one opaque node whose output shapes a
fake kernel gives (``register_fake``), and compiles the rest of the model around it; at run time
the op runs :func:`ltx2_efficient.torch_glue.attention.attend` as usual. Its gradient (for
training through a compiled model) recomputes the call on the chunked-torch backend and
differentiates that.

The op returns (out, lse); lse is float32 [B, heads, T] when ``need_lse`` is set and an empty
float32 tensor otherwise (an op returns tensors only); both are contiguous whatever q's strides. The optional arguments take the same
values as :class:`AttentionCall`'s fields, ``backend`` "" meaning the environment's choice.
"""

# No `from __future__ import annotations`: torch.library reads the annotations as types.

import torch

from ltx2_efficient.torch_glue.attention import attend
from ltx2_efficient.torch_glue.attention_call import AttentionCall

OP_NAME = "ltx2eff::window_attention"


@torch.library.custom_op(OP_NAME, mutates_args=())
def window_attention_op(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    grid: list[int],
    window: int,
    global_tokens: int = 0,
    anchor_frame: bool = False,
    far_field: int = 0,
    precision: str = "auto",
    scale: float | None = None,
    subset: str = "all",
    need_lse: bool = False,
    backend: str = "",
) -> tuple[torch.Tensor, torch.Tensor]:
    call = AttentionCall(
        tuple(grid), window, global_tokens, anchor_frame, far_field, precision, scale, subset, need_lse
    )  # fmt: skip
    result = attend(q, k, v, call, backend or None)
    lse = result.lse if result.lse is not None else q.new_empty((0,), dtype=torch.float32)
    return result.out.contiguous(), lse.contiguous()  # the layout the fake kernel promises


@window_attention_op.register_fake
def _window_attention_fake(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    grid: list[int],
    window: int,
    global_tokens: int = 0,
    anchor_frame: bool = False,
    far_field: int = 0,
    precision: str = "auto",
    scale: float | None = None,
    subset: str = "all",
    need_lse: bool = False,
    backend: str = "",
) -> tuple[torch.Tensor, torch.Tensor]:
    batch, heads, tokens, _ = q.shape
    lse_shape = (batch, heads, tokens) if need_lse else (0,)
    return q.new_empty(q.shape), q.new_empty(lse_shape, dtype=torch.float32)  # contiguous


def _setup_context(ctx: object, inputs: tuple, output: tuple) -> None:
    q, k, v, grid, window, global_tokens, anchor_frame, far_field, precision, scale, subset, need_lse, _ = (
        inputs
    )
    ctx.save_for_backward(q, k, v)  # type: ignore[attr-defined]
    ctx.call = AttentionCall(  # type: ignore[attr-defined]
        tuple(grid), window, global_tokens, anchor_frame, far_field, precision, scale, subset, need_lse
    )  # fmt: skip


def _backward(ctx: object, grad_out: torch.Tensor, grad_lse: torch.Tensor) -> tuple:
    """Gradients by recomputing the call on the chunked-torch backend (plain differentiable torch
    ops, the same function as every backend) and differentiating that."""
    q, k, v = ctx.saved_tensors  # type: ignore[attr-defined]
    call: AttentionCall = ctx.call  # type: ignore[attr-defined]
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
    return (dq, dk, dv) + (None,) * 10


window_attention_op.register_autograd(_backward, setup_context=_setup_context)


def call_op(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, call: AttentionCall) -> torch.Tensor:
    """``call``'s output through the custom op (what compiled code runs)."""
    out, _ = torch.ops.ltx2eff.window_attention(
        q, k, v, list(call.grid), call.window, call.global_tokens, call.anchor_frame, call.far_field,
        call.precision, call.scale, call.subset, call.need_lse,
    )  # fmt: skip
    return out
