"""Feed-forward over token chunks, installed as a ComfyUI object patch (activation budget).

The feed-forward's hidden layer (4x the width) is the largest activation of an LTX block. It is
independent per token, so running it over chunks of tokens gives the same result while holding
one chunk's hidden layer at a time. ComfyUI exposes no hook inside a block, so the budget uses
its public object patches (``ModelPatcher.add_object_patch``): the ``forward`` attribute of each
block's ``ff`` module is set to a :class:`ChunkedForward` while the patched model is loaded and
restored when it is unpatched. Module names, weights and LoRA keys stay as they are. The chunk
size is set per transformer call by the ``DIFFUSION_MODEL`` wrapper (it depends on the grid).
"""

from __future__ import annotations

import torch

from ltx2_efficient.hosts.comfyui.run_state import ChunkSize


def feed_forward_patch_name(block: int, attribute: str = "ff") -> str:
    """The object-patch key of block ``block``'s feed-forward ``forward``."""
    return f"diffusion_model.transformer_blocks.{block}.{attribute}.forward"


class ChunkedForward:
    """Stands in for ``module.forward``: the class's forward over chunks of dim 1."""

    def __init__(self, module: torch.nn.Module, chunk: ChunkSize) -> None:
        self.module = module
        self.chunk = chunk
        self.chunked_calls = 0

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        forward = type(self.module).forward  # the class's own forward, not this patch
        size = self.chunk.tokens
        tokens = x.shape[1] if x.dim() >= 2 else 0
        if size is None or tokens <= size:
            return forward(self.module, x)
        self.chunked_calls += 1
        first = forward(self.module, x[:, :size])
        out = first.new_empty((x.shape[0], tokens, *first.shape[2:]))
        out[:, :size] = first
        del first
        for start in range(size, tokens, size):
            end = min(start + size, tokens)
            out[:, start:end] = forward(self.module, x[:, start:end])
        return out
