"""A small time-series chart writer for the thermal check: stacked panels of line series, drawn
with PIL when it is installed (with labels), else rasterised with numpy and written as a PNG with
zlib (lines only), so a plot is always produced."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

WIDTH, PANEL_HEIGHT, MARGIN_LEFT, MARGIN_RIGHT, MARGIN_Y = 1200, 260, 80, 20, 30
Color = tuple[int, int, int]


@dataclass
class Series:
    label: str
    xs: list[float]
    ys: list[float]
    color: Color


@dataclass
class Panel:
    title: str
    series: list[Series]
    hlines: list[tuple[float, Color, str]] = field(default_factory=list)  # y, color, label
    spans: list[tuple[float, float, Color]] = field(default_factory=list)  # x0, x1, fill color


def _bounds(panels: list[Panel]) -> tuple[float, float]:
    xs = [x for p in panels for s in p.series for x in s.xs]
    return (min(xs), max(xs)) if xs else (0.0, 1.0)


def _y_bounds(panel: Panel) -> tuple[float, float]:
    ys = [y for s in panel.series for y in s.ys if np.isfinite(y)] + [h[0] for h in panel.hlines]
    if not ys:
        return 0.0, 1.0
    lo, hi = min(ys), max(ys)
    pad = 0.05 * (hi - lo or 1.0)
    return lo - pad, hi + pad


def _mapper(panel_index: int, panel: Panel, x_range: tuple[float, float]):
    x0, x1 = x_range
    y0, y1 = _y_bounds(panel)
    top = panel_index * PANEL_HEIGHT + MARGIN_Y
    bottom = (panel_index + 1) * PANEL_HEIGHT - MARGIN_Y
    left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT

    def to_px(x: float, y: float) -> tuple[float, float]:
        px = left + (x - x0) / ((x1 - x0) or 1.0) * (right - left)
        py = bottom - (y - y0) / ((y1 - y0) or 1.0) * (bottom - top)
        return px, py

    return to_px, (left, top, right, bottom), (y0, y1)


def _write_with_pil(path: Path, panels: list[Panel], title: str) -> bool:
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        return False
    image = Image.new("RGB", (WIDTH, PANEL_HEIGHT * len(panels) + 20), "white")
    draw = ImageDraw.Draw(image)
    x_range = _bounds(panels)
    draw.text((MARGIN_LEFT, 2), title, fill=(0, 0, 0))
    for i, panel in enumerate(panels):
        to_px, (left, top, right, bottom), (y0, y1) = _mapper(i, panel, x_range)
        for sx0, sx1, fill in panel.spans:
            a, _ = to_px(sx0, y0)
            b, _ = to_px(sx1, y0)
            draw.rectangle([a, top, b, bottom], fill=fill)
        draw.rectangle([left, top, right, bottom], outline=(0, 0, 0))
        draw.text((left + 4, top + 2), panel.title, fill=(0, 0, 0))
        digits = 0 if y1 - y0 >= 10 else 2
        for frac in (0.0, 0.5, 1.0):
            y = y0 + frac * (y1 - y0)
            _, py = to_px(x_range[0], y)
            draw.text((4, py - 6), f"{y:.{digits}f}", fill=(0, 0, 0))
        for y, color, label in panel.hlines:
            _, py = to_px(x_range[0], y)
            draw.line([left, py, right, py], fill=color, width=1)
            draw.text((right - 200, py - 12), label, fill=color)
        legend_y = top + 16
        for s in panel.series:
            points = [to_px(x, y) for x, y in zip(s.xs, s.ys, strict=True) if np.isfinite(y)]
            if len(points) > 1:
                draw.line(points, fill=s.color, width=2)
            draw.text((left + 4, legend_y), s.label, fill=s.color)
            legend_y += 12
        draw.text((right - 60, bottom + 4), f"{x_range[1]:.0f} s", fill=(0, 0, 0))
        draw.text((left, bottom + 4), f"{x_range[0]:.0f} s", fill=(0, 0, 0))
    image.save(path)
    return True


def _png_bytes(pixels: np.ndarray) -> bytes:
    h, w, _ = pixels.shape
    raw = b"".join(b"\x00" + pixels[row].tobytes() for row in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 6))
        + chunk(b"IEND", b"")
    )


def _write_raw(path: Path, panels: list[Panel]) -> None:
    pixels = np.full((PANEL_HEIGHT * len(panels), WIDTH, 3), 255, dtype=np.uint8)
    x_range = _bounds(panels)

    def line(a: tuple[float, float], b: tuple[float, float], color: Color) -> None:
        n = int(max(abs(b[0] - a[0]), abs(b[1] - a[1]))) + 1
        for t in np.linspace(0.0, 1.0, n):
            x = int(round(a[0] + t * (b[0] - a[0])))
            y = int(round(a[1] + t * (b[1] - a[1])))
            if 0 <= y < pixels.shape[0] and 0 <= x < WIDTH:
                pixels[y, x] = color

    for i, panel in enumerate(panels):
        to_px, (left, top, right, bottom), _ = _mapper(i, panel, x_range)
        for sx0, sx1, fill in panel.spans:
            a, _ = to_px(sx0, 0.0)
            b, _ = to_px(sx1, 0.0)
            pixels[int(top) : int(bottom), int(a) : int(b)] = fill
        for corner_a, corner_b in (((left, top), (right, top)), ((left, bottom), (right, bottom))):
            line(corner_a, corner_b, (0, 0, 0))
        line((left, top), (left, bottom), (0, 0, 0))
        for y, color, _ in panel.hlines:
            _, py = to_px(x_range[0], y)
            line((left, py), (right, py), color)
        for s in panel.series:
            points = [to_px(x, y) for x, y in zip(s.xs, s.ys, strict=True) if np.isfinite(y)]
            for a, b in zip(points, points[1:], strict=False):
                line(a, b, s.color)
    path.write_bytes(_png_bytes(pixels))


def write_chart(path: Path, panels: list[Panel], title: str) -> str:
    """Writes the chart; returns which renderer drew it ("pil" or "raw")."""
    if _write_with_pil(path, panels, title):
        return "pil"
    _write_raw(path, panels)
    return "raw"
