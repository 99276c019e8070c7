"""The K/V halo exchange between neighbouring ranks, and the anchor-frame broadcast.

A rank sends the key/value frames its neighbours need (the split's transfers) and receives its
own halo with point-to-point operations started together (one NCCL group on GPUs, so the sends
and receives of two neighbours never wait on each other), then goes on computing while they are
in flight. K and V travel as one ``[2, B, heads, tokens, D]`` tensor per transfer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.distributed as dist

from ltx2_efficient.parallel.rank_layout import RankLayout


@dataclass
class ExchangeStats:
    """Bytes this rank received per kind of exchange, summed over calls."""

    calls: int = 0
    halo_bytes: int = 0
    anchor_bytes: int = 0
    gather_bytes: int = 0  # cross-rank partial attentions (global tokens, video-to-audio)

    @property
    def total_bytes(self) -> int:
        return self.halo_bytes + self.anchor_bytes + self.gather_bytes


def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


@dataclass
class PendingHalo:
    """Receives in flight; :meth:`keys` waits for them and returns the rank's key frames."""

    layout: RankLayout
    own: torch.Tensor  # [2, B, heads, own_tokens, D]
    received: list[tuple[int, torch.Tensor]]  # (first frame, [2, B, heads, n * HW, D])
    works: list[object]
    anchor_buffer: torch.Tensor | None
    anchor_work: object | None
    _done: bool = field(default=False)

    def anchor(self) -> torch.Tensor | None:
        """Frame 0's ``[2, B, heads, HW, D]`` K/V (None when the anchor is off)."""
        if self.anchor_work is not None:
            self.anchor_work.wait()  # type: ignore[attr-defined]
            self.anchor_work = None
        return self.anchor_buffer

    def keys(self) -> torch.Tensor:
        """K/V of the frames in ``layout.keys``, frame-major: ``[2, B, heads, n * HW, D]``."""
        if not self._done:
            for work in self.works:
                work.wait()  # type: ignore[attr-defined]
            self._done = True
        begin, _ = self.layout.owned
        parts = sorted([*self.received, (begin, self.own)], key=lambda part: part[0])
        return parts[0][1] if len(parts) == 1 else torch.cat([p for _, p in parts], dim=3)


class HaloExchange:
    """Starts the exchange of one call's K/V for a rank (see the module docstring)."""

    def __init__(self, group: dist.ProcessGroup | None = None) -> None:
        self.group = group
        self.stats = ExchangeStats()

    def _global_rank(self, rank: int) -> int:
        return dist.get_global_rank(self.group, rank) if self.group is not None else rank

    def start(self, layout: RankLayout, own: torch.Tensor, *, anchor_frame: bool) -> PendingHalo:
        """``own``: this rank's ``[2, B, heads, own_tokens, D]`` grid K/V (contiguous)."""
        split, me, hw = layout.split, layout.rank, layout.tokens_per_frame
        begin, _ = layout.owned
        ops: list[dist.P2POp] = []
        received: list[tuple[int, torch.Tensor]] = []
        for t in split.transfers:
            if t.src == me:
                lo, hi = (t.frames.begin - begin) * hw, (t.frames.end - begin) * hw
                ops.append(
                    dist.P2POp(
                        dist.isend, own[:, :, :, lo:hi].contiguous(), self._global_rank(t.dst), self.group
                    )
                )
            elif t.dst == me:
                shape = (*own.shape[:3], t.frames.size * hw, own.shape[4])
                buffer = torch.empty(shape, dtype=own.dtype, device=own.device)
                received.append((t.frames.begin, buffer))
                ops.append(dist.P2POp(dist.irecv, buffer, self._global_rank(t.src), self.group))
                self.stats.halo_bytes += _nbytes(buffer)
        works = self._launch(ops)
        anchor, anchor_work = self._broadcast_anchor(layout, own) if anchor_frame else (None, None)
        self.stats.calls += 1
        return PendingHalo(layout, own, received, works, anchor, anchor_work)

    def _launch(self, ops: list[dist.P2POp]) -> list[object]:
        if not ops:
            return []
        if dist.get_backend(self.group) == "nccl":
            return list(dist.batch_isend_irecv(ops))
        return [op.op(op.tensor, op.peer, group=op.group) for op in ops]

    def _broadcast_anchor(self, layout: RankLayout, own: torch.Tensor) -> tuple[torch.Tensor, object]:
        hw = layout.tokens_per_frame
        owner = layout.split.owner(0)
        if layout.rank == owner:
            buffer = own[:, :, :, :hw].contiguous()
        else:
            buffer = torch.empty((*own.shape[:3], hw, own.shape[4]), dtype=own.dtype, device=own.device)
            self.stats.anchor_bytes += _nbytes(buffer)
        work = dist.broadcast(buffer, self._global_rank(owner), group=self.group, async_op=True)
        return buffer, work
