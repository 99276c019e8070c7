"""Starting a demo model from trained weights: the same model, another head split, or more blocks.

Regrouping the same width into other heads keeps every parameter's shape (the q/k norms and
projections span the whole width), so the weights load as they are. A deeper model takes the
trained blocks spread evenly through its depth (block j of n goes to block floor(j * N / n)) and
starts every other block as the identity: the outputs of its self-attention, cross-attention and
feed-forward are zeroed, so the residual stream passes through unchanged and the deeper model
computes exactly what the trained one did before its first step.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from ltx2_efficient.demo.model import DemoModel, DemoModelConfig

_BLOCKS = "transformer.transformer_blocks."
# The linear layers whose outputs a block adds to the residual stream.
_BLOCK_OUTPUTS = ("attn1.to_out.0", "attn2.to_out.0", "ff.net.2")


def block_placement(trained: int, total: int) -> list[int]:
    """Where each of ``trained`` blocks goes in a model of ``total`` blocks (strictly increasing)."""
    if not 1 <= trained <= total:
        raise ValueError(f"a model of {total} blocks cannot start from {trained} trained blocks")
    return [j * total // trained for j in range(trained)]


def compatible(trained: DemoModelConfig, target: DemoModelConfig) -> bool:
    """Whether weights of ``trained`` can start ``target``: equal but for the head split of the
    same width and a depth at least as large."""
    same_width = trained.inner_dim == target.inner_dim
    rest = replace(
        trained,
        heads=target.heads,
        head_dim=target.head_dim,
        num_layers=target.num_layers,
        sigmas=target.sigmas,
    )
    return same_width and rest == target and trained.num_layers <= target.num_layers


def load_into(model: DemoModel, trained: DemoModel, source: str) -> None:
    """``model`` <- ``trained`` (see the module text); ``source`` names the weights in errors."""
    if not compatible(trained.config, model.config):
        raise ValueError(
            f"init_weights {source} hold a model of config {trained.config}, not the requested"
            f" {model.config} (only the head split may differ, and the depth may grow)"
        )
    placement = block_placement(trained.config.num_layers, model.config.num_layers)
    state = {}
    for name, value in trained.state_dict().items():
        if name.startswith(_BLOCKS):
            index, rest = name[len(_BLOCKS) :].split(".", 1)
            name = f"{_BLOCKS}{placement[int(index)]}.{rest}"
        state[name] = value
    fresh = set(range(model.config.num_layers)) - set(placement)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.startswith(_BLOCKS):
                index, rest = name[len(_BLOCKS) :].split(".", 1)
                if int(index) in fresh and rest.rsplit(".", 1)[0] in _BLOCK_OUTPUTS:
                    state[name] = torch.zeros_like(param)
    missing, unexpected = model.load_state_dict(state, strict=False)
    new_blocks = tuple(f"{_BLOCKS}{i}." for i in fresh)
    missing = [m for m in missing if not m.startswith(new_blocks)]
    if missing or unexpected:
        raise ValueError(f"init_weights {source}: missing {missing}, unexpected {unexpected}")
