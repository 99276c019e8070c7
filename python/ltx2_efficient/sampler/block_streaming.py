"""Block streaming: transformer blocks' weights kept on the host and moved per block to the device.

A small card cannot hold the 19B model's 48 blocks (36 GB in bf16). :class:`BlockStreamer` keeps
every block's parameters and buffers on the host (pinned, so copies are asynchronous) and, around
each block's forward:

- before block i: waits for its copy (started earlier on a side stream), points the block's
  tensors at the device copies and starts copying block i+1 (block 0 after the last), so the next
  transfer overlaps this block's compute;
- after block i: drops the device copies (the caching allocator reuses their memory).

At most two blocks are on the device at any time (the one running and the one prefetched): the
"weights in flight" of the memory bound (docs/BENCHMARKS.md, "Memory bound"). On a CPU device the
same hooks run and every move is the identity (no copy, no stream), so CPU tests exercise the
mechanism. ``remove()`` puts every block back on the device and removes the hooks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any

import torch


def _tensor_bytes(tensors: dict[str, torch.Tensor]) -> int:
    return sum(t.numel() * t.element_size() for t in tensors.values())


def _block_tensors(block: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The block's parameters and buffers by name (what must be on the device to run it)."""
    return {**dict(block.named_parameters()), **dict(block.named_buffers())}


@dataclass
class StreamingStats:
    """What the streamer moved: bytes per model call, and the most bytes on the device at once."""

    blocks: int = 0
    block_bytes: int = 0  # every block's weights (what one model call streams)
    largest_block_bytes: int = 0
    loads: int = 0  # block copies made to the device
    peak_in_flight_bytes: int = 0  # the most block weights on the device at one time


class BlockStreamer:
    """Streams ``blocks``' weights to ``device`` one block at a time (see the module docstring).

    Args:
        blocks: the transformer blocks (an ``nn.ModuleList``), on ``device`` or on the host.
        device: where the blocks run.
        pin: keep the host copies in pinned memory (default: when ``device`` is CUDA).
        prefetch: copy block i+1 while block i runs (on a side stream on CUDA).
    """

    def __init__(
        self,
        blocks: torch.nn.ModuleList,
        device: torch.device | str,
        *,
        pin: bool | None = None,
        prefetch: bool = True,
    ) -> None:
        if not isinstance(blocks, torch.nn.ModuleList) or len(blocks) == 0:
            raise ValueError(f"blocks must be a non-empty torch.nn.ModuleList, got {type(blocks).__name__}")
        self.device = torch.device(device)
        self.blocks = blocks
        self.prefetch = bool(prefetch)
        self._cuda = self.device.type == "cuda"
        pin = self._cuda if pin is None else bool(pin)
        self._tensors = [_block_tensors(block) for block in blocks]
        self._host: list[dict[str, torch.Tensor]] = []
        for tensors in self._tensors:
            host = {}
            for name, t in tensors.items():
                copy = t.detach().to("cpu")
                host[name] = copy.pin_memory() if pin and not copy.is_pinned() else copy
            self._host.append(host)
            self._release(tensors)
        self._copy_stream = torch.cuda.Stream(device=self.device) if self._cuda else None
        self._loaded: dict[int, dict[str, torch.Tensor]] = {}
        self._ready: dict[int, Any] = {}
        sizes = [_tensor_bytes(h) for h in self._host]
        self.stats = StreamingStats(
            blocks=len(blocks), block_bytes=sum(sizes), largest_block_bytes=max(sizes)
        )
        self._handles = []
        for i, block in enumerate(blocks):
            self._handles.append(block.register_forward_pre_hook(self._before(i)))
            self._handles.append(block.register_forward_hook(self._after(i)))
        self.removed = False

    # ---- moves ----

    def _release(self, tensors: dict[str, torch.Tensor]) -> None:
        for t in tensors.values():
            t.data = torch.empty(0, dtype=t.dtype, device=self.device)

    def _copy_context(self) -> Any:
        return torch.cuda.stream(self._copy_stream) if self._copy_stream is not None else nullcontext()

    def _load(self, i: int) -> None:
        """Starts copying block ``i`` to the device (a no-op when it is there or on its way)."""
        if i in self._loaded:
            return
        with self._copy_context():
            self._loaded[i] = {
                name: t.to(self.device, non_blocking=self._cuda) for name, t in self._host[i].items()
            }
            if self._copy_stream is not None:
                event = torch.cuda.Event()
                event.record(self._copy_stream)
                self._ready[i] = event
        self.stats.loads += 1
        in_flight = sum(_tensor_bytes(self._host[j]) for j in self._loaded)
        self.stats.peak_in_flight_bytes = max(self.stats.peak_in_flight_bytes, in_flight)

    def _before(self, i: int) -> Callable[[torch.nn.Module, Any], None]:
        def hook(_module: torch.nn.Module, _args: Any) -> None:
            self._load(i)
            event = self._ready.pop(i, None)
            if event is not None:
                compute = torch.cuda.current_stream(self.device)
                compute.wait_event(event)
                for t in self._loaded[i].values():
                    t.record_stream(compute)  # the copy stream's memory is used on this stream
            for name, t in self._loaded[i].items():
                self._tensors[i][name].data = t
            if self.prefetch and len(self.blocks) > 1:
                self._load((i + 1) % len(self.blocks))

        return hook

    def _after(self, i: int) -> Callable[[torch.nn.Module, Any, Any], None]:
        def hook(_module: torch.nn.Module, _args: Any, _out: Any) -> None:
            self._release(self._tensors[i])
            self._loaded.pop(i, None)

        return hook

    # ---- lifetime ----

    def release_all(self) -> None:
        """Drops every device copy (after a failed forward, whose after-hooks never ran)."""
        for i in list(self._loaded):
            self._release(self._tensors[i])
        self._loaded.clear()
        self._ready.clear()

    @property
    def in_flight_bytes(self) -> int:
        """Block weights on the device now."""
        return sum(_tensor_bytes(self._host[j]) for j in self._loaded)

    def remove(self) -> None:
        """Puts every block back on the device and removes the hooks (idempotent)."""
        if self.removed:
            return
        for handle in self._handles:
            handle.remove()
        self.release_all()
        for tensors, host in zip(self._tensors, self._host, strict=True):
            for name, t in tensors.items():
                t.data = host[name].to(self.device)
        self.removed = True


@contextmanager
def streamed_blocks(
    blocks: torch.nn.ModuleList, device: torch.device | str, **options: Any
) -> Iterator[BlockStreamer]:
    """``with streamed_blocks(model.transformer_blocks, device) as streamer:`` streams the blocks
    inside the block and puts them back on the device after it."""
    streamer = BlockStreamer(blocks, device, **options)
    try:
        yield streamer
    finally:
        streamer.remove()
