"""NaN in, NaN out, on every attention backend.

torch's fused CPU attention drops a NaN in q (and in k when there is a single key) when a call
has fewer than 16 keys: it returns 0 where the math, the C++ kernels and longer calls give NaN.
Tiny grids (a 2x2 frame under window 0) hit it, and a NaN would then vanish from a run instead
of showing. Short calls get the NaN written back: a query row with a NaN, or any query of a
call whose keys hold one, comes out NaN (and its log-sum-exp too).
"""

from __future__ import annotations

import torch

# Calls with at least this many keys propagate NaN by themselves.
SHORT_CALL_KEYS = 16


def _nan_rows(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor | None:
    """[..., Lq] True where a short call's output must be NaN; None for calls long enough."""
    if k.shape[-2] >= SHORT_CALL_KEYS:
        return None
    return q.isnan().any(-1) | k.isnan().any(-1).any(-1, keepdim=True)


def keep_nan(out: torch.Tensor, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """The output of one fused attention call over [..., L, D] keys, NaN where q or k had one."""
    bad = _nan_rows(q, k)
    return out if bad is None else out.masked_fill(bad.unsqueeze(-1), float("nan"))


def keep_nan_with_lse(
    out: torch.Tensor, lse: torch.Tensor, q: torch.Tensor, k: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """keep_nan for a call that also returned its [..., Lq] log-sum-exp."""
    bad = _nan_rows(q, k)
    if bad is None:
        return out, lse
    return out.masked_fill(bad.unsqueeze(-1), float("nan")), lse.masked_fill(bad, float("nan"))
