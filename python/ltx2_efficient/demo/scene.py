"""Seeded procedural scenes: shapes whose motion is a closed-form function of time in seconds.

A scene is drawn from a prompt and a random generator for a clip of a given duration, so that
every motion stays inside the frame for the whole clip. Coordinates are normalised: x to the
right, y down, both in [0, 1]; a shape's ``radius`` is in the same units. Because motion is a
function of time (not of frame index), the same scene rendered at a lower frame rate is the same
motion sampled more sparsely, which is what keyframe diffusion relies on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ltx2_efficient.demo.prompt import BACKGROUNDS, COLOURS, MOTIONS, SHAPES, DemoPrompt

# How much darker the second half of every shape is: the two tones make rotation visible
# (also for circles) and give each shape an orientation the model must keep consistent.
SHADE_FACTOR = 0.55


@dataclass(frozen=True)
class ShapePose:
    """Where a shape is at each requested time (arrays of the same length)."""

    x: np.ndarray
    y: np.ndarray
    scale: np.ndarray
    angle: np.ndarray


@dataclass(frozen=True)
class ShapeTrack:
    """One shape and its motion: ``pose(times)`` evaluates the closed-form trajectory."""

    kind: str
    colour: tuple[float, float, float]
    radius: float
    motion: str
    params: dict[str, float] = field(default_factory=dict)

    def pose(self, times: np.ndarray) -> ShapePose:
        t = np.asarray(times, dtype=np.float64)
        p = self.params
        ones = np.ones_like(t)
        r = self.radius
        if self.motion == "pan":
            x = p["x0"] + p["vx"] * t
            return ShapePose(x, p["y0"] * ones, ones, p["angle0"] * ones)
        if self.motion == "bounce":
            x = _reflect(p["x0"] + p["vx"] * t, r, 1.0 - r)
            y = _reflect(p["y0"] + p["vy"] * t, r, 1.0 - r)
            return ShapePose(x, y, ones, p["angle0"] + p["spin"] * t)
        if self.motion == "rotate":
            return ShapePose(p["x0"] * ones, p["y0"] * ones, ones, p["angle0"] + p["spin"] * t)
        if self.motion == "orbit":
            phase = p["phase0"] + p["omega"] * t
            x = p["cx"] + p["orbit"] * np.cos(phase)
            y = p["cy"] + p["orbit"] * np.sin(phase)
            heading = phase + np.sign(p["omega"]) * np.pi / 2
            return ShapePose(x, y, ones, heading)
        if self.motion == "zoom":
            scale = np.exp(p["amplitude"] * np.sin(p["omega"] * t + p["phase0"]))
            return ShapePose(p["x0"] * ones, p["y0"] * ones, scale, p["angle0"] * ones)
        if self.motion == "cross":
            x = p["x_meet"] + p["vx"] * (t - p["t_meet"])
            return ShapePose(x, p["y0"] * ones, ones, p["angle0"] * ones)
        if self.motion == "fall":
            u = np.mod(t / p["period"] + p["phase0"], 1.0) * 2.0 - 1.0
            y = (1.0 - r) - p["height"] * (1.0 - u * u)
            x = _reflect(p["x0"] + p["vx"] * t, r, 1.0 - r)
            return ShapePose(x, y, ones, p["angle0"] * ones)
        raise ValueError(f"motion must be one of the prompt motions, got '{self.motion}'")


@dataclass(frozen=True)
class Scene:
    """A background and shapes drawn back to front."""

    background: str
    background_colours: tuple[tuple[float, float, float], tuple[float, float, float]]
    tracks: tuple[ShapeTrack, ...]
    duration: float


def sample_scene(prompt: DemoPrompt, rng: np.random.Generator, duration: float) -> Scene:
    """Draws a scene for ``prompt``; attributes the prompt leaves unspecified are drawn too."""
    if not duration > 0:
        raise ValueError(f"duration must be > 0 seconds, got {duration}")
    motion = prompt.motion or _pick(rng, MOTIONS)
    kind = prompt.shape or _pick(rng, SHAPES)
    colour_name = prompt.colour or _pick(rng, tuple(COLOURS))
    colour = _jitter_colour(rng, COLOURS[colour_name])
    background = prompt.background or _pick(rng, BACKGROUNDS)
    bg_a = tuple(float(c) for c in rng.uniform(0.03, 0.35, size=3))
    bg_b = tuple(float(c) for c in rng.uniform(0.03, 0.35, size=3))
    tracks = _sample_tracks(rng, motion, kind, colour_name, colour, duration)
    return Scene(background, (bg_a, bg_b), tracks, duration)  # type: ignore[arg-type]


def _sample_tracks(
    rng: np.random.Generator,
    motion: str,
    kind: str,
    colour_name: str,
    colour: tuple[float, float, float],
    duration: float,
) -> tuple[ShapeTrack, ...]:
    angle0 = float(rng.uniform(0, 2 * np.pi))
    if motion == "pan":
        r = float(rng.uniform(0.10, 0.17))
        speed = float(rng.uniform(0.35, 0.75)) * (1 - 2 * r) / duration
        vx = speed * _sign(rng)
        travel = abs(vx) * duration
        start = float(rng.uniform(r, 1 - r - travel))
        x0 = start if vx > 0 else 1 - start
        y0 = float(rng.uniform(0.25, 0.75))
        return (ShapeTrack(kind, colour, r, motion, {"x0": x0, "vx": vx, "y0": y0, "angle0": angle0}),)
    if motion == "bounce":
        r = float(rng.uniform(0.10, 0.15))
        params = {
            "x0": float(rng.uniform(r, 1 - r)),
            "y0": float(rng.uniform(r, 1 - r)),
            "vx": float(rng.uniform(0.10, 0.22)) * _sign(rng),
            "vy": float(rng.uniform(0.10, 0.22)) * _sign(rng),
            "spin": float(rng.uniform(-0.4, 0.4)),
            "angle0": angle0,
        }
        return (ShapeTrack(kind, colour, r, motion, params),)
    if motion == "rotate":
        r = float(rng.uniform(0.18, 0.27))
        params = {
            "x0": float(rng.uniform(0.38, 0.62)),
            "y0": float(rng.uniform(0.38, 0.62)),
            "spin": float(rng.uniform(0.35, 0.8)) * _sign(rng),
            "angle0": angle0,
        }
        return (ShapeTrack(kind, colour, r, motion, params),)
    if motion == "orbit":
        r = float(rng.uniform(0.10, 0.14))
        params = {
            "cx": float(rng.uniform(0.45, 0.55)),
            "cy": float(rng.uniform(0.45, 0.55)),
            "orbit": float(rng.uniform(0.18, 0.27)),
            "omega": float(rng.uniform(0.45, 0.9)) * _sign(rng),
            "phase0": float(rng.uniform(0, 2 * np.pi)),
        }
        return (ShapeTrack(kind, colour, r, motion, params),)
    if motion == "zoom":
        r = float(rng.uniform(0.13, 0.19))
        params = {
            "x0": float(rng.uniform(0.4, 0.6)),
            "y0": float(rng.uniform(0.4, 0.6)),
            "amplitude": float(rng.uniform(0.25, 0.45)),
            "omega": float(rng.uniform(0.6, 1.2)),
            "phase0": float(rng.uniform(0, 2 * np.pi)),
            "angle0": angle0,
        }
        return (ShapeTrack(kind, colour, r, motion, params),)
    if motion == "cross":
        return _sample_crossing(rng, kind, colour_name, colour, duration, angle0)
    if motion == "fall":
        r = float(rng.uniform(0.10, 0.15))
        params = {
            "x0": float(rng.uniform(r, 1 - r)),
            "vx": float(rng.uniform(-0.08, 0.08)),
            "height": float(rng.uniform(0.3, 0.55)),
            "period": float(rng.uniform(1.8, 3.2)),
            "phase0": float(rng.uniform(0, 1)),
            "angle0": angle0,
        }
        return (ShapeTrack(kind, colour, r, motion, params),)
    raise ValueError(f"motion must be one of the prompt motions, got '{motion}'")


def _sample_crossing(
    rng: np.random.Generator,
    kind: str,
    colour_name: str,
    colour: tuple[float, float, float],
    duration: float,
    angle0: float,
) -> tuple[ShapeTrack, ...]:
    """Two shapes moving in opposite directions that overlap (and occlude) mid-clip."""
    r = float(rng.uniform(0.10, 0.15))
    r_other = float(rng.uniform(0.10, 0.15))
    t_meet = float(rng.uniform(0.35, 0.65)) * duration
    x_meet = float(rng.uniform(0.4, 0.6))
    y0 = float(rng.uniform(0.3, 0.7))
    y_other = y0 + float(rng.uniform(-0.5, 0.5)) * min(r, r_other)
    # Speeds keep both shapes inside the frame for the whole clip.
    max_speed = (x_meet - r) / max(t_meet, duration - t_meet)
    max_speed = min(max_speed, (1 - r - x_meet) / max(t_meet, duration - t_meet))
    speed = float(rng.uniform(0.6, 1.0)) * max_speed
    speed_other = float(rng.uniform(0.6, 1.0)) * max_speed
    direction = _sign(rng)
    other_kind = _pick(rng, SHAPES)
    other_colour = _jitter_colour(rng, COLOURS[_pick(rng, tuple(c for c in COLOURS if c != colour_name))])
    first = ShapeTrack(
        kind,
        colour,
        r,
        "cross",
        {"x_meet": x_meet, "t_meet": t_meet, "vx": direction * speed, "y0": y0, "angle0": angle0},
    )
    second = ShapeTrack(
        other_kind,
        other_colour,
        r_other,
        "cross",
        {
            "x_meet": x_meet,
            "t_meet": t_meet,
            "vx": -direction * speed_other,
            "y0": y_other,
            "angle0": float(rng.uniform(0, 2 * np.pi)),
        },
    )
    return (first, second) if rng.random() < 0.5 else (second, first)


def _reflect(value: np.ndarray, low: float, high: float) -> np.ndarray:
    """Bounces ``value`` between ``low`` and ``high`` (a triangle wave)."""
    span = high - low
    phase = np.mod(value - low, 2 * span)
    return low + np.where(phase > span, 2 * span - phase, phase)


def _jitter_colour(rng: np.random.Generator, base: tuple[float, float, float]) -> tuple[float, float, float]:
    jittered = np.clip(np.asarray(base) + rng.uniform(-0.05, 0.05, size=3), 0.0, 1.0)
    return (float(jittered[0]), float(jittered[1]), float(jittered[2]))


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def _sign(rng: np.random.Generator) -> float:
    return 1.0 if rng.random() < 0.5 else -1.0
