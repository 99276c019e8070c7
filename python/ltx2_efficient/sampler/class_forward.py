"""Calling a module's own class ``forward`` past an instance-level patch of it.

Both hosts route a projection's or feed-forward's calls through one of our wrappers by setting
the module's ``forward`` attribute (ComfyUI's object patches, ltx-core's handle), which leaves
module names, parameters, state-dict keys and LoRA targets as they are. The wrapper then needs
the original computation, which is the class's ``forward``: :class:`ClassForward` calls it.
"""

from __future__ import annotations

import torch


class ClassForward(torch.nn.Module):
    """Runs ``target``'s class ``forward`` (not its patched ``forward`` attribute).

    ``target`` is held without being registered as a submodule: the model keeps owning it, and
    the module tree gets no cycle.
    """

    def __init__(self, target: torch.nn.Module) -> None:
        super().__init__()
        object.__setattr__(self, "target", target)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        target = self.__dict__["target"]
        return type(target).forward(target, x)
