"""Data-parallel training across the processes ``torchrun`` starts (one per GPU), or none.

Every process holds the same weights and renders its own batches; after each backward pass the
gradients are averaged (one all-reduce over a flat buffer), so the optimiser steps stay
identical. Rank 0's clock (with the mean loss and the clip count) is shared every step, so the
learning rate and the stop follow one clock. Without ``WORLD_SIZE`` > 1 in the environment nothing is distributed and every call is a
no-op on the single process.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from types import TracebackType

import torch
import torch.distributed as dist


class DataParallel:
    def __init__(self, rank: int, world: int, device: torch.device) -> None:
        if world < 1 or not 0 <= rank < world:
            raise ValueError(f"rank must be in [0, {world - 1}] for world size {world}, got {rank}")
        self.rank = rank
        self.world = world
        self.device = device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @staticmethod
    def from_environment(device: str) -> DataParallel:
        """One process (``WORLD_SIZE`` unset or 1) or a member of a ``torchrun`` group.

        On CUDA each process takes the GPU ``LOCAL_RANK`` and talks over NCCL; on the CPU over
        gloo (what the tests use)."""
        world = _environment_int("WORLD_SIZE", 1)
        if world < 1:
            raise ValueError(f"WORLD_SIZE must be >= 1, got {world}")
        if world == 1:
            return DataParallel(0, 1, torch.device(device))
        rank = _environment_int("RANK", None)
        local = _environment_int("LOCAL_RANK", rank)
        DataParallel(rank, world, torch.device(device))  # checks the rank before any setup
        if torch.device(device).type == "cuda":
            if local >= torch.cuda.device_count():
                raise ValueError(
                    f"LOCAL_RANK {local} needs GPU {local}, but {torch.cuda.device_count()} are visible"
                )
            torch.cuda.set_device(local)
            placed = torch.device("cuda", local)
            backend = "nccl"
        else:
            placed = torch.device(device)
            backend = "gloo"
        if not dist.is_initialized():
            dist.init_process_group(backend=backend, device_id=placed if backend == "nccl" else None)
        return DataParallel(rank, world, placed)

    def average_gradients(self, parameters: Iterable[torch.nn.Parameter]) -> None:
        if self.world == 1:
            return
        params = list(parameters)
        for p in params:  # every process must contribute the same buffer layout
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        grads = [p.grad for p in params]
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= self.world
        offset = 0
        for g in grads:
            n = g.numel()
            g.copy_(flat[offset : offset + n].view_as(g))
            offset += n

    def exchange(self, loss: torch.Tensor, elapsed_s: float, clips: int) -> tuple[float, float, int]:
        """(loss averaged over the processes, rank 0's elapsed seconds, clips of all processes)."""
        if self.world == 1:
            return float(loss), elapsed_s, clips
        clock = elapsed_s if self.is_main else 0.0
        shared = torch.stack(
            [
                loss.float().reshape(()),
                torch.tensor(clock, device=loss.device),
                torch.tensor(float(clips), device=loss.device),
            ]
        )
        dist.all_reduce(shared)
        total_loss, clock, all_clips = shared.tolist()
        return total_loss / self.world, clock, round(all_clips)

    def __enter__(self) -> DataParallel:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.world > 1 and dist.is_initialized():
            if kind is None:
                # Rank 0 still writes its outputs; tearing the group down under it aborts the
                # other process, so every rank waits for all before leaving.
                dist.barrier()
            dist.destroy_process_group()


def _environment_int(name: str, default: int | None) -> int:
    """An integer from the environment (torchrun sets these); ``default`` None: required."""
    text = os.environ.get(name)
    if text is None:
        if default is None:
            raise ValueError(f"{name} must be set (an integer) when WORLD_SIZE > 1; start with torchrun")
        return default
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {text!r}") from None
