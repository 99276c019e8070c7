"""Lossless reuse of the video text cross-attention keys and values in ComfyUI.

The prompt context is the same in every step, so each block's ``attn2.to_k`` / ``attn2.to_v``
projections of it repeat. They run inside ComfyUI's ``CrossAttention.forward`` before any
attention hook, so, like the activation budget, this uses ComfyUI's object patches: the
``forward`` attribute of each projection becomes an exact-match cache
(:class:`~ltx2_efficient.sampler.text_kv_cache.CachedProjection`, bit-identical results) while the
patched model is loaded. Module names and weights are untouched. Installed only where the model
feeds the raw context to the projections (not with ``cross_attention_adaln``, whose context
changes every step) and only without an activation budget (the cache holds the keys and values
of every block). The caches are emptied at the start and end of every run.
"""

from __future__ import annotations

from typing import Any

import torch

from ltx2_efficient.sampler.class_forward import ClassForward
from ltx2_efficient.sampler.text_kv_cache import CachedProjection, ContextStore


class CachedForward:
    """The object-patch value: a plain callable (a Module would be registered as a child)."""

    def __init__(self, module: torch.nn.Module, store: ContextStore | None = None) -> None:
        self.cache = CachedProjection(ClassForward(module), store=store)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.cache(x)


def text_kv_patch_names(block: int) -> tuple[str, str]:
    base = f"diffusion_model.transformer_blocks.{block}.attn2"
    return f"{base}.to_k.forward", f"{base}.to_v.forward"


def install_text_kv_cache(model_patcher: Any) -> list[CachedForward]:
    """Object-patches every block's video text K/V projections; returns the caches (may be empty)."""
    diffusion_model = model_patcher.model.diffusion_model
    if getattr(diffusion_model, "cross_attention_adaln", False):
        return []
    caches: list[CachedForward] = []
    store = ContextStore()  # each prompt context stored once for all blocks
    for index, block in enumerate(getattr(diffusion_model, "transformer_blocks", [])):
        attention = getattr(block, "attn2", None)
        if attention is None or not hasattr(attention, "to_k") or not hasattr(attention, "to_v"):
            continue
        for name, module in zip(text_kv_patch_names(index), (attention.to_k, attention.to_v), strict=True):
            cached = CachedForward(module, store)
            model_patcher.add_object_patch(name, cached)
            caches.append(cached)
    return caches


def reset_caches(caches: list[CachedForward]) -> None:
    for cached in caches:
        cached.cache.clear()
        cached.cache.hits = 0
        cached.cache.misses = 0


def cache_counts(caches: list[CachedForward]) -> tuple[int, int]:
    """(projections answered from the caches, projections computed)."""
    return sum(c.cache.hits for c in caches), sum(c.cache.misses for c in caches)
