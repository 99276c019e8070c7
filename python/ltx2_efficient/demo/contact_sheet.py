"""Contact sheets: one labelled row of frames per video, upscaled with nearest-neighbour."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

LABEL_WIDTH = 150
GAP = 2


def contact_sheet(
    rows: list[np.ndarray], labels: list[str] | None = None, scale: int = 3, max_frames: int | None = None
) -> Image.Image:
    """Rows of RGB frames ``[F, H, W, 3]`` in [0, 1] (rows may differ in F) -> one image."""
    if not rows:
        raise ValueError("rows must hold at least one video")
    if labels is not None and len(labels) != len(rows):
        raise ValueError(f"labels must have one entry per row ({len(rows)}), got {len(labels)}")
    if scale < 1 or scale > 32:
        raise ValueError(f"scale must be in [1, 32], got {scale}")
    h, w = rows[0].shape[1] * scale, rows[0].shape[2] * scale
    columns = max(r.shape[0] for r in rows)
    if max_frames is not None:
        columns = min(columns, max_frames)
    left = LABEL_WIDTH if labels else 0
    sheet = Image.new("RGB", (left + columns * (w + GAP), len(rows) * (h + GAP)), (24, 24, 24))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for i, video in enumerate(rows):
        y = i * (h + GAP)
        if labels:
            draw.multiline_text((4, y + 4), labels[i], fill=(230, 230, 230), font=font, spacing=2)
        for j in range(min(video.shape[0], columns)):
            tile = Image.fromarray(to_uint8(video[j])).resize((w, h), Image.NEAREST)
            sheet.paste(tile, (left + j * (w + GAP), y))
    return sheet


def to_uint8(frames: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(np.asarray(frames) * 255.0), 0, 255).astype(np.uint8)
