"""Small line and scatter charts drawn with Pillow (no plotting library needed)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 720, 440
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 70, 30, 40, 50
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75)]


def line_chart(
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    title: str,
    x_label: str,
    y_label: str,
    log_y: bool = False,
) -> Image.Image:
    """One polyline per named series of (xs, ys)."""
    points = [(x, y) for xs, ys in series.values() for x, y in zip(xs, ys, strict=True)]
    frame = _Frame(points, title, x_label, y_label, log_y)
    for i, (name, (xs, ys)) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        coords = [frame.to_pixel(x, y) for x, y in zip(xs, ys, strict=True)]
        if len(coords) > 1:
            frame.draw.line(coords, fill=colour, width=2)
        frame.legend(i, name, colour)
    return frame.image


def scatter_chart(
    points: Sequence[tuple[float, float, str]], title: str, x_label: str, y_label: str
) -> Image.Image:
    """Labelled points (x, y, label)."""
    frame = _Frame([(x, y) for x, y, _ in points], title, x_label, y_label, False)
    placed: list[tuple[float, float, float, float]] = []
    for i, (x, y, label) in enumerate(points):
        colour = PALETTE[i % len(PALETTE)]
        px, py = frame.to_pixel(x, y)
        frame.draw.ellipse((px - 5, py - 5, px + 5, py + 5), fill=colour)
        # Labels of nearby points are moved down until they no longer overlap.
        box = frame.draw.textbbox((px + 8, py - 6), label, font=frame.font)
        while any(_overlap(box, other) for other in placed):
            box = (box[0], box[1] + 12, box[2], box[3] + 12)
        placed.append(box)
        frame.draw.text((box[0], box[1]), label, fill=colour, font=frame.font)
    return frame.image


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


class _Frame:
    """Axes, ticks and labels; maps data to pixels."""

    def __init__(
        self, points: list[tuple[float, float]], title: str, x_label: str, y_label: str, log_y: bool
    ) -> None:
        finite = [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y) and (y > 0 or not log_y)]
        if not finite:
            raise ValueError("chart needs at least one finite point")
        self.log_y = log_y
        xs = [x for x, _ in finite]
        ys = [self._y(y) for _, y in finite]
        self.x0, self.x1 = _padded(min(xs), max(xs))
        self.y0, self.y1 = _padded(min(ys), max(ys))
        self.image = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
        self.draw = ImageDraw.Draw(self.image)
        self.font = ImageFont.load_default()
        self._axes(title, x_label, y_label)

    def _y(self, y: float) -> float:
        return math.log10(y) if self.log_y else y

    def to_pixel(self, x: float, y: float) -> tuple[float, float]:
        w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
        h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
        px = MARGIN_LEFT + (x - self.x0) / (self.x1 - self.x0) * w
        py = MARGIN_TOP + (1 - (self._y(y) - self.y0) / (self.y1 - self.y0)) * h
        return px, py

    def legend(self, index: int, name: str, colour: tuple[int, int, int]) -> None:
        x, y = WIDTH - MARGIN_RIGHT - 200, MARGIN_TOP + 8 + 16 * index
        self.draw.line((x, y + 6, x + 20, y + 6), fill=colour, width=3)
        self.draw.text((x + 26, y), name, fill=(30, 30, 30), font=self.font)

    def _axes(self, title: str, x_label: str, y_label: str) -> None:
        d, grey, ink = self.draw, (220, 220, 220), (30, 30, 30)
        left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
        top, bottom = MARGIN_TOP, HEIGHT - MARGIN_BOTTOM
        for i in range(6):
            fx = self.x0 + (self.x1 - self.x0) * i / 5
            fy = self.y0 + (self.y1 - self.y0) * i / 5
            px = left + (right - left) * i / 5
            py = bottom - (bottom - top) * i / 5
            d.line((px, top, px, bottom), fill=grey)
            d.line((left, py, right, py), fill=grey)
            d.text((px - 14, bottom + 6), _fmt(fx), fill=ink, font=self.font)
            d.text((4, py - 6), _fmt(10**fy if self.log_y else fy), fill=ink, font=self.font)
        d.rectangle((left, top, right, bottom), outline=ink)
        d.text((left, 4), title, fill=ink, font=self.font)  # its own row above the axis label
        d.text(((left + right) / 2 - 3 * len(x_label), bottom + 26), x_label, fill=ink, font=self.font)
        d.text((4, top - 16), y_label, fill=ink, font=self.font)


def _padded(low: float, high: float) -> tuple[float, float]:
    if high == low:
        return low - 1.0, high + 1.0
    pad = 0.05 * (high - low)
    return low - pad, high + pad


def _fmt(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.1 or value == 0:
        return f"{value:.2f}"
    return f"{value:.3f}"
