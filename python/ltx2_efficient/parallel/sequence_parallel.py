"""``FrameParallelModel``: an ltx-core ``LTXModel`` run on N ranks, returning what it returns on one.

Every rank passes the whole video ``Modality`` (the latent is small next to the activations) and
gets the whole velocity back; inside, each rank runs the transformer on its own frames' tokens and
the global tokens only. Linear layers, feed-forwards, AdaLN, RoPE and the text cross-attention are
token-wise, so they need nothing from other ranks; the video self-attention exchanges halos
(:class:`~ltx2_efficient.parallel.frame_attention.FrameParallelSelfAttention`); the audio stream
(short) is held whole by every rank, and its video-to-audio cross-attention merges the ranks'
partials. The ranks' outputs are all-gathered at the end.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
import torch.distributed as dist

from ltx2_efficient.hosts.ltx_core.positions import grid_from_positions
from ltx2_efficient.parallel.frame_attention import (
    FrameParallelSelfAttention,
    cross_rank_attention,
    to_heads,
)
from ltx2_efficient.parallel.halo_exchange import ExchangeStats, HaloExchange
from ltx2_efficient.parallel.rank_layout import RankLayout, rank_layout


class _VideoKeysAcrossRanks:
    """The video-to-audio cross-attention: audio queries (on every rank) over the ranks' video keys."""

    def __init__(self, group: dist.ProcessGroup | None, stats: ExchangeStats) -> None:
        self.group = group
        self.stats = stats
        self.layout: RankLayout | None = None

    def __call__(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        if mask is not None:
            raise ValueError("frame-parallel video-to-audio attention takes no attention mask")
        assert self.layout is not None
        qh, kh, vh = (to_heads(t, heads) for t in (q, k, v))
        if self.layout.rank != 0 and self.layout.global_tokens > 0:  # globals count once
            kh, vh = kh[:, :, : -self.layout.global_tokens], vh[:, :, : -self.layout.global_tokens]
        out = cross_rank_attention(qh, kh, vh, group=self.group, stats=self.stats)
        b, _, t, d = out.shape
        return out.transpose(1, 2).reshape(b, t, heads * d)


class FrameParallelModel(torch.nn.Module):
    """Wraps ``model`` (an ltx-core ``LTXModel``) for frame-parallel calls on ``group``'s ranks.

    ``window`` is the temporal window K (``-1`` = dense attention, exchanged as an all-gather);
    ``anchor_frame`` makes frame 0 visible to every query frame. ``stats`` counts the bytes each
    call received. :meth:`unwrap` restores the model's attention functions and returns it.
    """

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        window: int,
        anchor_frame: bool = False,
        precision: str = "auto",
        backend: str | None = None,
        group: dist.ProcessGroup | None = None,
    ) -> None:
        super().__init__()
        if not dist.is_initialized():
            raise RuntimeError(
                "FrameParallelModel needs torch.distributed initialised (torchrun, init_process_group)"
            )
        self.model = model
        self.window = int(window)
        self.anchor_frame = bool(anchor_frame)
        self.group = group
        self.exchange = HaloExchange(group)
        self._restore: list[tuple[Any, Any]] = []
        self._video: list[FrameParallelSelfAttention] = []
        self._v2a: list[_VideoKeysAcrossRanks] = []
        for block in getattr(model, "transformer_blocks", []):
            if hasattr(block, "attn1"):
                fn = FrameParallelSelfAttention(
                    window=self.window,
                    anchor_frame=self.anchor_frame,
                    precision=precision,
                    backend=backend,
                    group=group,
                    exchange=self.exchange,
                )
                self._swap(block.attn1, fn)
                self._video.append(fn)
            if hasattr(block, "video_to_audio_attn"):
                cross = _VideoKeysAcrossRanks(group, self.exchange.stats)
                self._swap(block.video_to_audio_attn, cross)
                self._v2a.append(cross)
        if not self._video:
            raise ValueError(
                f"model must be an ltx-core LTXModel with video blocks, got {type(model).__name__}"
            )

    def _swap(self, attn: torch.nn.Module, fn: Any) -> None:
        self._restore.append((attn, attn.attention_function))
        attn.attention_function = fn

    @property
    def stats(self) -> ExchangeStats:
        return self.exchange.stats

    @property
    def model_type(self) -> Any:
        return getattr(self.model, "model_type", None)

    def unwrap(self) -> torch.nn.Module:
        for attn, original in self._restore:
            attn.attention_function = original
        self._restore.clear()
        return self.model

    def layout_for(self, video: Any) -> RankLayout:
        grid, global_tokens = grid_from_positions(video.positions)
        return rank_layout(
            grid,
            global_tokens,
            window=self.window,
            anchor_frame=self.anchor_frame,
            ranks=dist.get_world_size(self.group),
            rank=dist.get_rank(self.group),
        )

    def forward(self, video: Any, audio: Any, perturbations: Any) -> tuple[torch.Tensor, torch.Tensor | None]:
        if video is None:
            raise ValueError("frame-parallel calls need the video modality")
        if video.attention_mask is not None:
            raise ValueError(
                "frame-parallel calls take no video attention_mask (attention-strength conditioning)"
            )
        layout = self.layout_for(video)
        for fn in (*self._video, *self._v2a):
            fn.layout = layout
        index = layout.token_index(video.latent.device)
        local = dataclasses.replace(
            video,
            latent=video.latent[:, index],
            timesteps=video.timesteps[:, index],
            positions=video.positions[:, :, index],
        )
        vx, ax = self.model(local, audio, perturbations)
        return self._gather(layout, vx), ax

    def _gather(self, layout: RankLayout, local: torch.Tensor) -> torch.Tensor:
        """The whole sequence's output from every rank's grid part (globals are alike everywhere)."""
        split, hw, g = layout.split, layout.tokens_per_frame, layout.global_tokens
        grid_part = local[:, : local.shape[1] - g].contiguous()
        largest = max(r.owned.size for r in split.ranks) * hw
        padded = torch.zeros(
            (local.shape[0], largest, local.shape[2]), dtype=local.dtype, device=local.device
        )
        padded[:, : grid_part.shape[1]] = grid_part
        parts = [torch.empty_like(padded) for _ in range(split.rank_count)]
        dist.all_gather(parts, padded, group=self.group)
        self.exchange.stats.gather_bytes += (split.rank_count - 1) * padded.numel() * padded.element_size()
        pieces = [p[:, : r.owned.size * hw] for p, r in zip(parts, split.ranks, strict=True)]
        if g > 0:
            pieces.append(local[:, local.shape[1] - g :])
        return torch.cat(pieces, dim=1)
