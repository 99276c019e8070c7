"""Markdown tables of an attention-locality measurement (``attention_locality.LocalityResult``).

Every share is printed beside what uniform attention would put in the same bins, and every
mean over heads beside the worst head, since a window is only as safe as the head it hurts most.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ltx2_efficient.demo.attention_locality import LocalityResult

FRAME_KS = (0, 1, 2, 4)
SPATIAL_RS = (0, 1, 2, 4)
# A head is "spatial" when its own frame holds this share, "temporal" when its own position in
# the other frames does (Sparse VideoGen's two kinds of heads).
SPATIAL_HEAD_SHARE = 0.5
TEMPORAL_HEAD_SHARE = 0.25
# A head is "uniform" when its +-1 frame share is within this factor of uniform attention's.
UNIFORM_HEAD_FACTOR = 1.2


def locality_markdown(result: LocalityResult, header: dict[str, Any]) -> str:
    config = header["config"]
    grid = config["image_size"] // config["patch"]
    lines = [
        f"# Attention locality: {header['weights']}",
        "",
        f"{config['num_layers']} blocks x {config['heads']} heads, {config['frames']} latent frames of"
        f" {grid}x{grid} tokens; dense Euler, {header['steps']} steps, CFG {header['guidance']:g};"
        f" {len(header['requests'])} requests ({', '.join(r['prompt'] for r in header['requests'])});"
        f" {header['queries_per_frame']} observed queries per frame; {header['wall_s']:.0f} s.",
        "",
        *_frame_table(result),
        "",
        *_step_table(result, header["sigmas"]),
        "",
        *_tile_table(result, config["frames"], grid),
        "",
        *_reach_table(result),
        "",
        *_head_table(result),
        "",
    ]
    return "\n".join(lines)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _frame_table(result: LocalityResult) -> list[str]:
    ks = [k for k in FRAME_KS if k < result.mass.shape[3]]
    rs = [r for r in SPATIAL_RS if r < result.mass.shape[4]]
    head = "| block | " + " | ".join(f"+-{k} frames" for k in ks) + " | K for 90% | "
    head += " | ".join(f"space r<={r}" for r in rs) + " |"
    lines = [
        "Share of attention mass within +-K frames and within spatial (Chebyshev) distance r in any"
        " frame, per block: mean over heads and steps (worst head in brackets); K for 90%: the"
        " smallest window holding 90% of the block's mass (mean over heads and steps).",
        "",
        head,
        "|---" * (2 + len(ks) + len(rs)) + "|",
    ]
    frame_mass = result.frame_mass().mean(axis=0)  # [blocks, heads, df]
    for b in range(result.mass.shape[1]):
        cells = []
        for k in ks:
            per_head = result.within_frames(k)[:, b].mean(axis=0)
            cells.append(f"{_pct(per_head.mean())} ({_pct(per_head.min())})")
        cumulative = np.cumsum(frame_mass[b].mean(axis=0))
        cells.append(str(int((cumulative < 0.9 - 1e-12).sum())))
        for r in rs:
            per_head = result.within_space(r)[:, b].mean(axis=0)
            cells.append(f"{_pct(per_head.mean())} ({_pct(per_head.min())})")
        lines.append(f"| {b} | " + " | ".join(cells) + " |")
    uniform = [_pct(result.uniform_within_frames(k)) for k in ks]
    cumulative = np.cumsum(result.uniform.sum(axis=-1))
    uniform.append(str(int((cumulative < 0.9 - 1e-12).sum())))
    uniform += [_pct(result.uniform_within_space(r)) for r in rs]
    lines.append("| uniform | " + " | ".join(uniform) + " |")
    return lines


def _step_table(result: LocalityResult, sigmas: list[float]) -> list[str]:
    lines = [
        "Per step (mean over blocks and heads; worst block-head in brackets):",
        "",
        "| step | sigma | own frame | +-1 frames | +-2 frames | space r<=1 |",
        "|---|---|---|---|---|---|",
    ]
    own, one, two, near = (
        result.within_frames(0),
        result.within_frames(1),
        result.within_frames(2),
        result.within_space(1),
    )
    for s in range(result.mass.shape[0]):
        cells = [f"{_pct(x[s].mean())} ({_pct(x[s].min())})" for x in (own, one, two, near)]
        lines.append(f"| {s} | {sigmas[s]:.3f} | " + " | ".join(cells) + " |")
    return lines


def _tile_table(result: LocalityResult, frames: int, grid: int) -> list[str]:
    """3D windows of STA's kind: +-k frames and +-r tokens (mean over steps, blocks and heads)."""
    k_sta = max(1, round(0.3 * (frames - 1)))  # a window spanning ~60% of the frames
    tiles = sorted({(1, 1), (2, 2), (k_sta, max(1, grid // 8)), (k_sta, max(1, grid // 4))})
    lines = [
        "3D windows (+-k frames x +-r tokens around the query): share of the mass (mean over steps,"
        " blocks, heads; worst block-head in brackets) against the share of keys inside:",
        "",
        "| window | mass inside | keys inside |",
        "|---|---|---|",
    ]
    for k, r in tiles:
        inside = result.within_tile(k, r).mean(axis=0)
        lines.append(
            f"| +-{k} frames, +-{r} tokens | {_pct(inside.mean())} ({_pct(inside.min())}) |"
            f" {_pct(result.uniform_within_tile(k, r))} |"
        )
    return lines


def _reach_table(result: LocalityResult) -> list[str]:
    """Radial Attention's question: does the spatial reach shrink as the frame distance grows?"""
    mean = result.mass.mean(axis=(0, 1, 2))  # [df, r]
    lines = [
        "Spatial reach by frame distance (mean over steps, blocks, heads): of the mass at frame"
        " distance d, the share within r<=1 and r<=2 tokens, and the keys' share there:",
        "",
        "| frame distance | mass at d | r<=1 | r<=2 | keys r<=1 |",
        "|---|---|---|---|---|",
    ]
    for d in sorted({0, 1, 2, 4, 8, mean.shape[0] - 1}):
        if d >= mean.shape[0]:
            continue
        at = mean[d].sum()
        keys = result.uniform[d]
        lines.append(
            f"| {d} | {_pct(at)} | {_pct(mean[d, :2].sum() / at)} | {_pct(mean[d, :3].sum() / at)} |"
            f" {_pct(keys[:2].sum() / keys.sum())} |"
        )
    return lines


def _head_table(result: LocalityResult) -> list[str]:
    own = result.within_frames(0).mean(axis=0)  # [blocks, heads]
    one = result.within_frames(1).mean(axis=0)
    same = result.same_position_other_frames().mean(axis=0)
    lines = [
        f"Heads (mean over steps): S = spatial head (own frame >= {_pct(SPATIAL_HEAD_SHARE)}),"
        f" T = temporal head (own position in other frames >= {_pct(TEMPORAL_HEAD_SHARE)}),"
        f" U = about uniform in time (+-1 share < {UNIFORM_HEAD_FACTOR}x uniform's), - = none of these;"
        " cells: kind, own-frame share / +-1 share / own position elsewhere.",
        "",
        "| block | " + " | ".join(f"head {h}" for h in range(own.shape[1])) + " |",
        "|---" * (1 + own.shape[1]) + "|",
    ]
    counts = {"S": 0, "T": 0, "U": 0, "-": 0}
    uniform_one = result.uniform_within_frames(1)
    for b in range(own.shape[0]):
        cells = []
        for h in range(own.shape[1]):
            kind = _head_kind(own[b, h], same[b, h], one[b, h], uniform_one)
            counts[kind] += 1
            cells.append(f"{kind} {100 * own[b, h]:.0f}/{100 * one[b, h]:.0f}/{100 * same[b, h]:.0f}")
        lines.append(f"| {b} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Spatial heads {counts['S']}, temporal heads {counts['T']}, about uniform {counts['U']},"
        f" other {counts['-']}.",
    ]
    return lines


def _head_kind(own: float, same_position: float, one: float, uniform_one: float) -> str:
    if own >= SPATIAL_HEAD_SHARE:
        return "S"
    if same_position >= TEMPORAL_HEAD_SHARE:
        return "T"
    return "U" if one < UNIFORM_HEAD_FACTOR * uniform_one else "-"
