"""The ``optimized_attention_override`` that windows LTX video self-attention in ComfyUI.

ComfyUI's attention functions are wrapped by ``comfy.ldm.modules.attention.wrap_attn``: when
``transformer_options["optimized_attention_override"]`` is set, every attention call becomes
``override(func, q, k, v, heads, [mask], attn_precision=..., transformer_options=...,
_inside_attn_wrapper=True, ...)`` where ``func`` is the attention function ComfyUI picked
(SDPA, sage, flash...) and ``q, k, v`` are ``[B, T, heads * D]`` (``[B, heads, T, D]`` with
``skip_reshape=True``). ``LTXAttentionOverride`` is such an override:

- it acts only on the video self-attention of a call whose token layout the ``DIFFUSION_MODEL``
  wrapper recorded (``transformer_options[GEOMETRY_KEY]``): queries and keys of the video
  sequence length, the video head count and width. Text cross-attention, audio self- and
  cross-attention go through untouched;
- a call with an attention mask (LTX's guide-strength attenuation) or extra SDPA arguments
  runs dense through ``func``; so does a call whose layout is ambiguous;
- the run's step schedule switches the window per call: on for the steps it windows, except
  in the dense first/last blocks (the block comes from :mod:`block_tags`); off (ComfyUI's
  ``func``, counted in the same statistics) everywhere else;
- it chains the override that was installed before it: that override is called with our
  windowed function in place of ``func``, so other custom nodes' attention patches still wrap
  the computation; everything we do not window is handed to it unchanged.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import torch

from ltx2_efficient.hosts.comfyui.diffusion_call import CallGeometry
from ltx2_efficient.hosts.comfyui.run_state import GEOMETRY_KEY, RUN_KEY, RunState
from ltx2_efficient.sampler.attention_patch import WindowedSelfAttention

OVERRIDE_KEY = "optimized_attention_override"
Override = Callable[..., Any]

# The attention-function signature ComfyUI calls (comfy.ldm.modules.attention.attention_pytorch).
_SIGNATURE = inspect.Signature(
    [
        inspect.Parameter("q", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("k", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("v", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("heads", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("mask", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None),
        inspect.Parameter("attn_precision", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None),
        inspect.Parameter("skip_reshape", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=False),
        inspect.Parameter("skip_output_reshape", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=False),
        inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD),
    ]
)
# Keyword arguments that change the math and that the windowed kernels do not take.
_UNSUPPORTED = ("scale", "enable_gqa")


def _to_tokens_major(t: torch.Tensor, skip_reshape: bool) -> torch.Tensor:
    """[B, heads, T, D] -> [B, T, heads * D]; [B, T, heads * D] unchanged."""
    if not skip_reshape:
        return t
    b, h, n, d = t.shape
    return t.transpose(1, 2).reshape(b, n, h * d)


def base_override(override: Override | None) -> Override | None:
    """The override below ours when ``override`` is one of ours (never stack two of ours)."""
    while isinstance(override, LTXAttentionOverride):
        override = override.previous
    return override


def _scheduled(run: RunState) -> WindowedSelfAttention:
    """The run's attention with its window switched on or off as the schedule says for the
    current call (noting which steps ran windowed and which blocks stayed dense)."""
    attention = run.attention
    attention.window_on = run.window_on_step()
    if attention.window_on and not run.window_on_block():
        attention.window_on = False
        if run.block is not None:
            run.dense_blocks.add(run.block)
    if attention.window_on and run.step is not None and run.config.phase != "refine":
        run.windowed_steps.add(run.step)
    return attention


class LTXAttentionOverride:
    """See the module docstring. ``previous`` is the override installed before this one."""

    def __init__(self, previous: Override | None = None) -> None:
        self.previous = base_override(previous)

    def _delegate(self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if self.previous is not None:
            return self.previous(func, *args, **kwargs)
        return func(*args, **kwargs)

    @staticmethod
    def is_video_self_attention(
        q: torch.Tensor,
        k: torch.Tensor,
        heads: int,
        skip_reshape: bool,
        geometry: CallGeometry,
        run: RunState,
    ) -> bool:
        model = run.config.model
        if heads != model.video_heads:
            return False
        if skip_reshape:
            if q.dim() != 4:
                return False
            q_len, k_len, width = q.shape[2], k.shape[2], q.shape[1] * q.shape[3]
        else:
            if q.dim() != 3:
                return False
            q_len, k_len, width = q.shape[1], k.shape[1], q.shape[2]
        return (
            q_len == geometry.video_tokens and k_len == geometry.video_tokens and width == model.video_width
        )

    def __call__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        options = kwargs.get("transformer_options")
        run = options.get(RUN_KEY) if isinstance(options, dict) else None
        geometry = options.get(GEOMETRY_KEY) if isinstance(options, dict) else None
        if not isinstance(run, RunState) or not isinstance(geometry, CallGeometry):
            return self._delegate(func, args, kwargs)
        try:
            bound = _SIGNATURE.bind(*args, **kwargs)
        except TypeError:
            return self._delegate(func, args, kwargs)
        p = bound.arguments
        q, k, heads = p["q"], p["k"], p["heads"]
        skip_reshape = bool(p.get("skip_reshape", False))
        if not (isinstance(q, torch.Tensor) and isinstance(k, torch.Tensor) and isinstance(heads, int)):
            return self._delegate(func, args, kwargs)
        if not self.is_video_self_attention(q, k, heads, skip_reshape, geometry, run):
            return self._delegate(func, args, kwargs)
        extra = p.get("kwargs", {})
        if not geometry.windowable:
            run.ambiguous_calls += 1
            run.add_note(f"dense video attention: {geometry.reason}")
            return self._delegate(func, args, kwargs)
        if any(name in extra for name in _UNSUPPORTED):
            run.add_note("dense video attention: the attention call sets scale/enable_gqa")
            return self._delegate(func, args, kwargs)
        return self._delegate(self._windowed_function(run, geometry, func, _scheduled(run)), args, kwargs)

    @staticmethod
    def _windowed_function(
        run: RunState, geometry: CallGeometry, func: Callable[..., Any], attention: WindowedSelfAttention
    ) -> Callable[..., torch.Tensor]:
        """A function with ComfyUI's attention signature running the run's ``attention``; its
        dense path (window off for this call, a mask, a chunked budget) is ComfyUI's ``func``."""

        def windowed(
            q: torch.Tensor,
            k: torch.Tensor,
            v: torch.Tensor,
            heads: int,
            mask: torch.Tensor | None = None,
            attn_precision: Any = None,
            skip_reshape: bool = False,
            skip_output_reshape: bool = False,
            **kwargs: Any,
        ) -> torch.Tensor:
            b = q.shape[0]
            qt, kt, vt = (_to_tokens_major(t, skip_reshape) for t in (q, k, v))
            tokens, width = qt.shape[1], qt.shape[2]

            def dense(
                dq: torch.Tensor, dk: torch.Tensor, dv: torch.Tensor, dheads: int, dmask: torch.Tensor | None
            ) -> torch.Tensor:
                # ComfyUI's own attention function for this call; the marker keeps its
                # wrap_attn from calling the override again.
                return func(
                    dq, dk, dv, dheads, mask=dmask, attn_precision=attn_precision, _inside_attn_wrapper=True
                )

            attention.dense = dense
            attention.chunk_tokens = run.chunk_tokens
            attention.set_grid(geometry.grid, geometry.global_tokens)
            out = attention(qt, kt, vt, heads, mask)
            if skip_output_reshape:
                return out.view(b, tokens, heads, width // heads).transpose(1, 2)
            return out

        return windowed
