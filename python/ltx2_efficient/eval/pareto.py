"""Pareto front of speed against fidelity: the settings no other setting beats on both."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def pareto_front(rows: Sequence[dict[str, Any]], maximise: Sequence[str]) -> list[int]:
    """Indices of the rows not dominated on the ``maximise`` keys (ties keep both rows).

    Row a dominates row b when a is >= b on every key and > on at least one.
    """
    if not maximise:
        raise ValueError("maximise must name at least one key")
    front = []
    for i, row in enumerate(rows):
        values = [float(row[key]) for key in maximise]
        dominated = False
        for j, other in enumerate(rows):
            if j == i:
                continue
            others = [float(other[key]) for key in maximise]
            if all(o >= v for o, v in zip(others, values, strict=True)) and any(
                o > v for o, v in zip(others, values, strict=True)
            ):
                dominated = True
                break
        if not dominated:
            front.append(i)
    return front
