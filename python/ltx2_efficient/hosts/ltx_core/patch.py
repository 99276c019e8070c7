"""``apply_efficient(model, settings)``: window attention (and an activation budget) on an LTXModel.

Only public ltx-core surfaces are used: every transformer block's video self-attention
(``block.attn1``) gets our callable as its ``attention_function`` (the hook ltx-core provides for
swapping attention implementations), and a forward pre-hook on the model reads the video grid
from the video ``Modality`` positions before each forward. Audio self-attention, the text
cross-attentions and the audio<->video cross-attentions keep their own functions. With an
activation budget each block's video feed-forward (``block.ff``) is wrapped so it runs over token
chunks. ``handle.remove()`` restores every attribute it changed.
"""

from __future__ import annotations

from typing import Any

import torch

from ltx2_efficient.hosts.ltx_core.positions import grid_from_positions
from ltx2_efficient.hosts.ltx_core.reuse_model import ReusingModel
from ltx2_efficient.sampler.attention_patch import AttentionStats, WindowedSelfAttention
from ltx2_efficient.sampler.chunking import ChunkedFeedForward, chunk_tokens_for_budget, model_dims
from ltx2_efficient.sampler.class_forward import ClassForward
from ltx2_efficient.sampler.settings import EfficientSettings
from ltx2_efficient.sampler.text_kv_cache import CachedProjection, ContextStore

TEXT_KV_BUDGET_SHARE = 4  # the text K/V cache may hold 1/4 of the activation budget


def text_kv_limit_bytes(activation_budget_mb: int) -> int | None:
    """Bytes the text K/V cache may hold under ``activation_budget_mb`` (None: unbounded)."""
    if activation_budget_mb <= 0:
        return None
    return activation_budget_mb * 2**20 // TEXT_KV_BUDGET_SHARE


def _video_blocks(model: torch.nn.Module) -> list[torch.nn.Module]:
    blocks = getattr(model, "transformer_blocks", None)
    if not isinstance(blocks, torch.nn.ModuleList) or len(blocks) == 0:
        raise ValueError(
            f"model must be an ltx-core LTXModel (transformer_blocks), got {type(model).__name__}"
        )
    video = [b for b in blocks if hasattr(b, "attn1") and hasattr(b.attn1, "attention_function")]
    if not video:
        raise ValueError(
            "model has no video self-attention (block.attn1): an audio-only model cannot be patched"
        )
    return video


def _find_video_modality(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if "video" in kwargs:
        return kwargs["video"]
    return args[0] if args else None


class EfficientHandle:
    """What :func:`apply_efficient` changed; ``remove()`` (or leaving a ``with``) restores it.

    Attributes:
        model: the model to call: the patched model, or its step-reusing wrapper when
            ``apply_efficient`` got ``steps``.
        patched: the patched ltx-core model itself.
        settings: the settings applied.
        stats: attention calls and query-key pairs, summed over every patched block.
        blocks: number of blocks whose video self-attention is windowed.
        chunk_tokens: the feed-forward / dense-attention token chunk in use (None = unchunked).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        settings: EfficientSettings,
        *,
        grid: tuple[int, int, int] | None,
        global_tokens: int,
        chunk_tokens: int | None,
        cache_text_kv: bool = True,
    ) -> None:
        self._cache_text_kv = cache_text_kv
        self._kv: list[CachedProjection] = []
        # One copy of each prompt context for every block; under an activation budget the cached
        # keys/values keep to their share of it (the memory bound, docs/BENCHMARKS.md).
        self._contexts = ContextStore(max_output_bytes=text_kv_limit_bytes(settings.activation_budget_mb))
        self.model: torch.nn.Module = model
        self.patched = model
        self.settings = settings
        self.stats = AttentionStats()
        self._fixed_grid = grid
        self._fixed_global = global_tokens
        self._fixed_chunk = chunk_tokens
        self.chunk_tokens: int | None = chunk_tokens
        self._restore: list[tuple[Any, str, Any]] = []
        self._forward_patched: list[torch.nn.Module] = []
        self._callables: list[WindowedSelfAttention] = []
        self._dense_blocks: list[bool] = []
        self._ff: list[ChunkedFeedForward] = []
        self._hook: torch.utils.hooks.RemovableHandle | None = None
        self._dims = None
        self.removed = False

    # ---- setup ----

    def _patch_forward(self, module: torch.nn.Module, replacement: torch.nn.Module) -> None:
        """Routes ``module``'s calls through ``replacement`` with an instance-level ``forward``
        (a plain bound method, so nothing is registered: module names, parameters, state-dict
        keys and LoRA targets stay as they are)."""
        module.__dict__["forward"] = replacement.__call__
        self._forward_patched.append(module)

    def _install(self) -> None:
        blocks = _video_blocks(self.patched)
        first = blocks[0].attn1
        heads = int(first.heads)
        self._dims = model_dims(
            blocks=len(blocks),
            heads=heads,
            head_dim=int(first.dim_head),
            context_dim=int(blocks[0].attn2.to_k.in_features) if hasattr(blocks[0], "attn2") else None,
            in_channels=int(self.patched.patchify_proj.in_features)
            if hasattr(self.patched, "patchify_proj")
            else 128,
            dtype=next(self.patched.parameters()).dtype,
        )
        budget = self.settings.activation_budget_mb > 0 or self._fixed_chunk is not None
        first_dense, last_dense = self.settings.dense_first_blocks, self.settings.dense_last_blocks
        self._dense_blocks = [not first_dense <= i < len(blocks) - last_dense for i in range(len(blocks))]
        for block in blocks:
            attn = block.attn1
            original = attn.attention_function
            windowed = WindowedSelfAttention(self.settings, dense=original, stats=self.stats)
            self._restore.append((attn, "attention_function", original))
            attn.attention_function = windowed
            windowed.window_on = not self._dense_blocks[len(self._callables)]
            self._callables.append(windowed)
            if budget and hasattr(block, "ff"):
                wrapper = ChunkedFeedForward(ClassForward(block.ff), self._fixed_chunk or 1 << 30)
                self._patch_forward(block.ff, wrapper)
                self._ff.append(wrapper)
            if (
                self._cache_text_kv
                and hasattr(block, "attn2")
                and not getattr(block, "cross_attention_adaln", False)
            ):
                for name in ("to_k", "to_v"):
                    projection = getattr(block.attn2, name)
                    cached = CachedProjection(ClassForward(projection), store=self._contexts)
                    self._patch_forward(projection, cached)
                    self._kv.append(cached)
        self._hook = self.patched.register_forward_pre_hook(self._before_forward, with_kwargs=True)
        if self._fixed_grid is not None:
            self.set_grid(self._fixed_grid, self._fixed_global)

    # ---- per forward ----

    def set_grid(self, grid: tuple[int, int, int] | None, global_tokens: int = 0) -> None:
        """Fixes the video grid (F, H, W) and appended token count for the next forwards
        (None: read them from the video positions each forward)."""
        self._fixed_grid = tuple(grid) if grid is not None else None  # type: ignore[assignment]
        self._fixed_global = global_tokens
        if grid is not None:
            self._apply_grid(self._fixed_grid, global_tokens, batch=1)  # type: ignore[arg-type]

    def set_window(self, on: bool) -> None:
        """Window attention on or off for the next forwards (the step schedule's per-step
        decision); blocks the settings keep dense stay dense."""
        for windowed, dense in zip(self._callables, self._dense_blocks, strict=True):
            windowed.window_on = bool(on) and not dense

    @property
    def windowed_blocks(self) -> int:
        """Blocks whose video self-attention may window (the rest always attend densely)."""
        return sum(1 for dense in self._dense_blocks if not dense)

    def _apply_grid(self, grid: tuple[int, int, int], global_tokens: int, batch: int) -> None:
        for windowed in self._callables:
            windowed.set_grid(grid, global_tokens)
        if self._fixed_chunk is not None:
            chunk: int | None = self._fixed_chunk
        elif self.settings.activation_budget_mb > 0 and self._dims is not None:
            chunk = chunk_tokens_for_budget(
                self._dims,
                grid,
                self.settings.activation_budget_mb,
                global_tokens=global_tokens,
                batch=batch,
                window=self.settings.window_spec,
            )
        else:
            chunk = None
        self.chunk_tokens = chunk
        for windowed in self._callables:
            windowed.chunk_tokens = chunk
        for wrapper in self._ff:
            wrapper.chunk_tokens = chunk if chunk is not None else 1 << 30

    def _before_forward(
        self, _module: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        video = _find_video_modality(args, kwargs)
        if video is None:
            return
        batch = int(video.latent.shape[0])
        if self._fixed_grid is not None:
            grid, global_tokens = self._fixed_grid, self._fixed_global
        else:
            grid, global_tokens = grid_from_positions(video.positions)
        self._apply_grid(grid, global_tokens, batch)  # type: ignore[arg-type]

    def attach_stats(self, stats: AttentionStats) -> None:
        """Counts the following attention calls into ``stats`` (e.g. a RunReport's)."""
        self.stats = stats
        for windowed in self._callables:
            windowed.stats = stats

    # ---- teardown ----

    @property
    def blocks(self) -> int:
        return len(self._callables)

    @property
    def text_kv_reuse(self) -> tuple[int, int]:
        """(projections answered from the cache, projections computed) of the video text
        cross-attention keys and values (lossless reuse)."""
        return sum(c.hits for c in self._kv), sum(c.misses for c in self._kv)

    @property
    def text_kv_limit_note(self) -> str | None:
        """What the activation budget's limit on the text K/V cache did (None when it had room)."""
        limit = self._contexts.max_output_bytes
        if limit is None or not self._contexts.declined:
            return None
        return (
            f"text K/V cache kept to {limit / 2**20:g} MB (a quarter of the activation budget): "
            f"{self._contexts.declined} projections not cached"
        )

    def remove(self) -> None:
        """Restores every attention function and feed-forward and removes the hook (idempotent)."""
        if self.removed:
            return
        if self._hook is not None:
            self._hook.remove()
        for owner, name, value in reversed(self._restore):
            setattr(owner, name, value)
        self._restore.clear()
        for module in self._forward_patched:
            module.__dict__.pop("forward", None)
        self._forward_patched.clear()
        for cached in self._kv:  # release the cached keys/values and contexts
            cached.clear()
        self.removed = True

    def __enter__(self) -> EfficientHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def apply_efficient(
    model: torch.nn.Module,
    settings: EfficientSettings,
    *,
    grid: tuple[int, int, int] | None = None,
    global_tokens: int = 0,
    chunk_tokens: int | None = None,
    steps: int | None = None,
    reuse_mode: str = "output",
    cache_text_kv: bool = True,
) -> EfficientHandle:
    """Applies window attention (and the activation budget) of ``settings`` to an ltx-core ``LTXModel``.

    Args:
        model: an ``ltx_core.model.transformer.model.LTXModel`` (video-only or audio-video).
        settings: the knobs; window, anchor frame, far field, precision and activation budget
            are used here (frame stride and step reuse belong to the sampling loop,
            :func:`ltx2_efficient.hosts.ltx_core.efficient_denoise`).
        grid: the video latent grid (F, H, W), when the video token positions should not be
            read per forward (they are by default: ``grid_from_positions``).
        global_tokens: appended conditioning tokens after the grid, with ``grid``.
        chunk_tokens: force this feed-forward / dense-attention token chunk (tests, tuning);
            by default it comes from the cost model and ``settings.activation_budget_mb``.
        steps: for step reuse inside a sampling loop you do not own (ltx-pipelines): the
            number of distinct sigmas at which the loop calls the model (the steps of an Euler
            loop; more for samplers with sub-steps). ``handle.model`` is then a
            :class:`~ltx2_efficient.hosts.ltx_core.reuse_model.ReusingModel` to use in place of
            the model (e.g. ``X0Model(handle.model)``); without it ``handle.model`` is the model.
        reuse_mode: "output" or "transform" (see ``StepReuse``), with ``steps``.
        cache_text_kv: reuse the video text cross-attention keys and values across calls
            while the context is unchanged (lossless: bit-identical; skipped for models whose
            cross-attention modulates the context per step).

    Returns an :class:`EfficientHandle`; ``handle.remove()`` restores the model (also usable as a
    context manager). Raises ValueError for a model without video blocks or bad arguments.
    """
    if not isinstance(settings, EfficientSettings):
        raise ValueError(f"settings must be an EfficientSettings, got {type(settings).__name__}")
    if chunk_tokens is not None and (
        isinstance(chunk_tokens, bool) or not isinstance(chunk_tokens, int) or chunk_tokens < 1
    ):
        raise ValueError(f"chunk_tokens must be an integer >= 1 or None, got {chunk_tokens!r}")
    for block in _video_blocks(model):
        if isinstance(block.attn1.attention_function, WindowedSelfAttention):
            raise ValueError("model is already patched by apply_efficient (remove the first handle)")
    wrapper = ReusingModel(model, settings, steps, reuse_mode) if steps is not None else None
    handle = EfficientHandle(
        model,
        settings,
        grid=grid,
        global_tokens=global_tokens,
        chunk_tokens=chunk_tokens,
        cache_text_kv=cache_text_kv,
    )
    handle._install()
    if wrapper is not None:
        handle.model = wrapper
    return handle
