"""Counting a module's forward calls and the wall time spent inside them (forward hooks).

On a CUDA module the device is synchronised before and after each call, so the time is the
call's GPU work and not only its launch.
"""

from __future__ import annotations

import time

import torch


class ModelCallTimer:
    """Sums the forward calls of ``module`` until :meth:`remove`."""

    def __init__(self, module: torch.nn.Module) -> None:
        self.calls = 0
        self.seconds = 0.0
        self._start = 0.0
        parameter = next(module.parameters(), None)
        self._cuda = parameter is not None and parameter.device.type == "cuda"
        self._handles = [
            module.register_forward_pre_hook(self._before),
            module.register_forward_hook(self._after),
        ]

    def _sync(self) -> None:
        if self._cuda:
            torch.cuda.synchronize()

    def _before(self, _module: torch.nn.Module, _args: object) -> None:
        self._sync()
        self._start = time.perf_counter()

    def _after(self, _module: torch.nn.Module, _args: object, _out: object) -> None:
        self._sync()
        self.seconds += time.perf_counter() - self._start
        self.calls += 1

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
