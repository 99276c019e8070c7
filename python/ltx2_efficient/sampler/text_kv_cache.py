"""Lossless reuse of the text cross-attention keys and values across steps.

The video text cross-attention projects the prompt context to keys and values in every block of
every model call, although the context is the same for the whole run (one per guidance branch:
cond, uncond). :class:`CachedProjection` wraps such a projection (``attn2.to_k`` / ``attn2.to_v``)
and returns the stored output when the input equals one it has seen (checked exactly with
``torch.equal``, which costs O(L * D) against the projection's O(L * D * D)), so the result is
bit-identical. It keeps the last ``capacity`` distinct inputs (cond, uncond, perturbed...).

Under an activation budget the cached outputs share a byte limit (``max_output_bytes`` of the
:class:`ContextStore`; the host sets a quarter of the budget): a projection whose output would
pass it is computed and not stored, so the cache never grows past its share of the memory bound.

Where the context is modulated per step (ltx-core's ``cross_attention_adaln``), inputs never
repeat and the cache only costs the comparison; hosts install it only where the model feeds the
raw context to the projection.
"""

from __future__ import annotations

import torch


class ContextStore:
    """The distinct recent contexts, one copy each, shared by every projection of a model.

    A 48-block model has 96 cached projections (keys and values); storing the context once here
    instead of once per projection keeps the cache's memory at a few contexts (one per guidance
    branch) instead of ~100 copies.
    """

    def __init__(self, capacity: int = 4, max_output_bytes: int | None = None) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"capacity must be an integer >= 1, got {capacity!r}")
        if max_output_bytes is not None and (
            isinstance(max_output_bytes, bool)
            or not isinstance(max_output_bytes, int)
            or max_output_bytes < 0
        ):
            raise ValueError(f"max_output_bytes must be an integer >= 0 or None, got {max_output_bytes!r}")
        self.capacity = capacity
        self.max_output_bytes = max_output_bytes
        self.output_bytes = 0  # the cached outputs of every projection sharing this store
        self.declined = 0  # outputs not cached for lack of room under max_output_bytes
        self._contexts: list[torch.Tensor] = []

    def has_room(self, nbytes: int) -> bool:
        """Whether one more cached output of ``nbytes`` stays within ``max_output_bytes``."""
        return self.max_output_bytes is None or self.output_bytes + nbytes <= self.max_output_bytes

    def canonical(self, x: torch.Tensor) -> torch.Tensor:
        """The stored tensor equal to ``x`` (exactly), storing a copy of ``x`` when new."""
        for i, seen in enumerate(self._contexts):
            if (
                seen.shape == x.shape
                and seen.dtype == x.dtype
                and seen.device == x.device
                and torch.equal(seen, x)
            ):
                if i:
                    self._contexts.insert(0, self._contexts.pop(i))
                return seen
        copy = x.detach().clone()
        self._contexts.insert(0, copy)
        del self._contexts[self.capacity :]
        return copy

    def clear(self) -> None:
        self._contexts.clear()

    def holds(self, stored: torch.Tensor) -> bool:
        """Whether ``stored`` (a tensor this store returned) is still one of its contexts."""
        return any(seen is stored for seen in self._contexts)

    @property
    def bytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self._contexts)


class CachedProjection(torch.nn.Module):
    """``inner(x)``, answered from a small exact-match cache of recent inputs.

    Only without autograd (inference). A cached output is shared between calls: callers must not
    modify it in place (ltx-core's attention does not). Projections of one model should share one
    :class:`ContextStore` (``store=``) so that each distinct context is stored once.
    """

    def __init__(self, inner: torch.nn.Module, capacity: int = 4, store: ContextStore | None = None) -> None:
        super().__init__()
        if isinstance(capacity, bool) or not isinstance(capacity, int) or capacity < 1:
            raise ValueError(f"capacity must be an integer >= 1, got {capacity!r}")
        self.inner = inner
        self.capacity = capacity
        self.store = store if store is not None else ContextStore(capacity)
        self.hits = 0
        self.misses = 0
        self._entries: list[tuple[torch.Tensor, torch.Tensor]] = []  # (stored context, output)

    def clear(self) -> None:
        self._set_entries([])
        self.store.clear()

    def _set_entries(self, entries: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        """Replaces the entries, keeping the store's byte count of cached outputs exact."""
        kept = {id(out) for _, out in entries}
        freed = sum(_nbytes(out) for _, out in self._entries if id(out) not in kept)
        added = {id(out) for _, out in self._entries}
        grown = sum(_nbytes(out) for _, out in entries if id(out) not in added)
        self.store.output_bytes += grown - freed
        self._entries = entries

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled():
            self.misses += 1
            return self.inner(x)
        key = self.store.canonical(x)
        # Outputs of contexts the store has dropped can never hit again: free them.
        if not all(self.store.holds(seen) for seen, _ in self._entries):
            self._set_entries([entry for entry in self._entries if self.store.holds(entry[0])])
        for i, (seen, out) in enumerate(self._entries):
            if seen is key:
                self.hits += 1
                if i:
                    self._entries.insert(0, self._entries.pop(i))
                return out
        out = self.inner(x)
        self.misses += 1
        entries = [(key, out), *self._entries][: self.capacity]
        if len(entries) <= len(self._entries) or self.store.has_room(_nbytes(out)):
            self._set_entries(entries)
        else:
            self.store.declined += 1
        return out


def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()
