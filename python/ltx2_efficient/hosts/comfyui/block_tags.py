"""Telling the attention override which transformer block a video self-attention call is in.

ComfyUI passes no block index to attention, and the override must keep the first and last
blocks dense when the schedule says so. The LTX blocks call their video self-attention as
``block.attn1(x, ..., transformer_options=...)`` (LTXV and LTX-2 alike), so, like the other
patches of this pack, an object patch on each block's ``attn1.forward``
(``ModelPatcher.add_object_patch``; module names, weights and LoRA keys untouched) sets
``RunState.block`` for the duration of the call and runs the class's own forward.
"""

from __future__ import annotations

from typing import Any

import torch

from ltx2_efficient.hosts.comfyui.run_state import RUN_KEY, RunState


def block_tag_patch_name(block: int) -> str:
    """The object-patch key of block ``block``'s video self-attention ``forward``."""
    return f"diffusion_model.transformer_blocks.{block}.attn1.forward"


class TaggedForward:
    """Stands in for ``attn1.forward`` of block ``index`` (a plain callable, not a Module)."""

    def __init__(self, module: torch.nn.Module, index: int) -> None:
        self.module = module
        self.index = index

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        forward = type(self.module).forward  # the class's own forward, not this patch
        options = kwargs.get("transformer_options")
        run = options.get(RUN_KEY) if isinstance(options, dict) else None
        if not isinstance(run, RunState):
            return forward(self.module, *args, **kwargs)
        outer = run.block
        run.block = self.index
        try:
            return forward(self.module, *args, **kwargs)
        finally:
            run.block = outer


def install_block_tags(model_patcher: Any) -> int:
    """Object-patches every block's ``attn1``; returns how many blocks were tagged."""
    blocks = getattr(model_patcher.model.diffusion_model, "transformer_blocks", [])
    tagged = 0
    for index, block in enumerate(blocks):
        attention = getattr(block, "attn1", None)
        if isinstance(attention, torch.nn.Module):
            model_patcher.add_object_patch(block_tag_patch_name(index), TaggedForward(attention, index))
            tagged += 1
    return tagged
