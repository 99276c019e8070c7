"""Runtime switches of the Python layer: every ``LTX2EFF_*`` environment variable it reads.

The variables are user overrides, read when a call needs them (so a change takes effect on the
next call), and only here:

- ``LTX2EFF_ATTENTION_BACKEND`` = auto | cpu | cuda | torch | batched (default auto): forces one
  window-attention backend (see ``ltx2_efficient.torch_glue.attention``);
- ``LTX2EFF_ATTENTION_AUTOTUNE`` = 1 | 0 (default 1): on a GPU, time the equivalent attention
  paths on the first call of a shape and keep the fastest;
- ``LTX2EFF_CUDNN_GRAPH`` = 1 | 0 (default 1): let frame-batched attention write in place through
  cuDNN's graph API when the ``cudnn`` frontend module is installed.

Flags take 1/0, on/off or true/false. The C++ core reads its own (``LTX2EFF_NUM_THREADS``,
``LTX2EFF_CPU_ISA``, ``LTX2EFF_CUDA_ATTENTION_KERNEL``, ``LTX2EFF_NVML_LIBRARY``).

:func:`overridden` sets switches for the current thread or asyncio task only, without touching
the process environment (which every thread shares).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType

ATTENTION_BACKEND_ENV = "LTX2EFF_ATTENTION_BACKEND"
ATTENTION_AUTOTUNE_ENV = "LTX2EFF_ATTENTION_AUTOTUNE"
CUDNN_GRAPH_ENV = "LTX2EFF_CUDNN_GRAPH"
ATTENTION_BACKENDS: tuple[str, ...] = ("auto", "cpu", "cuda", "torch", "batched")
SWITCHES: tuple[str, ...] = (ATTENTION_BACKEND_ENV, ATTENTION_AUTOTUNE_ENV, CUDNN_GRAPH_ENV)

_FLAGS = {"1": True, "on": True, "true": True, "0": False, "off": False, "false": False}
_overrides: ContextVar[Mapping[str, str]] = ContextVar(
    "ltx2eff_config_overrides", default=MappingProxyType({})
)


def _raw(name: str, default: str) -> str:
    value = _overrides.get().get(name)
    if value is None:
        value = os.environ.get(name, default)
    return value.strip() or default


def _flag(name: str, default: bool) -> bool:
    value = _raw(name, "1" if default else "0").lower()
    if value not in _FLAGS:
        raise ValueError(f"{name} must be one of 0 1 on off true false, got {value!r}")
    return _FLAGS[value]


def attention_backend() -> str:
    """The window-attention backend the environment asks for (``auto`` when unset)."""
    value = _raw(ATTENTION_BACKEND_ENV, "auto")
    if value not in ATTENTION_BACKENDS:
        raise ValueError(
            f"{ATTENTION_BACKEND_ENV} must be one of {' '.join(ATTENTION_BACKENDS)}, got {value!r}"
        )
    return value


def attention_autotune() -> bool:
    """Whether GPU attention calls pick the fastest equivalent path per shape (default on)."""
    return _flag(ATTENTION_AUTOTUNE_ENV, True)


def cudnn_graph() -> bool:
    """Whether the in-place cuDNN graph path may run (default on)."""
    return _flag(CUDNN_GRAPH_ENV, True)


@contextmanager
def overridden(values: Mapping[str, str]) -> Iterator[None]:
    """Within the block, the given switches (variable name -> value) read as set, in this thread
    or task only; the environment is left alone."""
    unknown = sorted(set(values) - set(SWITCHES))
    if unknown:
        raise ValueError(f"unknown switch(es) {', '.join(unknown)}; known: {', '.join(SWITCHES)}")
    token = _overrides.set(MappingProxyType({**_overrides.get(), **values}))
    try:
        yield
    finally:
        _overrides.reset(token)
