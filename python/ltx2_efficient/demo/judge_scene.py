"""The judge model's scenes: several shapes at varying speeds, occlusion, and a panning camera.

A judge scene is a demo scene seen through a moving camera. The prompted shape moves as the
prompt says (its path in the camera's frame, as if the camera followed it); one to three
distractor shapes of other colours move in the world, each with its own kind of motion and a
speed factor, in front of or behind the prompted shape; dim landmarks fixed in the world mark
the background, so the camera pan shows. Everything is a closed-form function of time, so a
clip at a lower frame rate is the same motion sampled more sparsely. ``scene_arrays`` flattens a
scene to the pose arrays ``judge_render`` rasterises (on any torch device).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ltx2_efficient.demo.prompt import COLOURS, SHAPES, DemoPrompt
from ltx2_efficient.demo.scene import Scene, ShapeTrack, sample_scene

SHAPE_KINDS = SHAPES  # index = kind id in the arrays
MAX_SHAPES = 5  # the prompted shape (two when crossing) and up to three distractors
LANDMARKS = 6
# Distractors: motions that keep a shape near where it started or move it steadily.
DISTRACTOR_MOTIONS = ("pan", "bounce", "rotate", "orbit", "zoom", "fall")
CAMERA_STILL_SHARE = 0.25
CAMERA_SPEED = (0.03, 0.09)  # frame widths per second
# Motions whose speed can change without leaving the frame (bounded in space).
SPEED_SCALABLE = ("bounce", "rotate", "orbit", "zoom", "fall")
PROMPTED_SPEED = (0.6, 1.6)
DISTRACTOR_SPEED = (0.5, 2.0)


@dataclass(frozen=True)
class Camera:
    """The view's top-left corner in world units at time t: ``start + velocity * t``."""

    vx: float
    vy: float


@dataclass(frozen=True)
class JudgeScene:
    """A demo scene (background and the prompted shapes) plus distractors, landmarks, camera."""

    base: Scene
    prompted_speed: float
    distractors: tuple[tuple[ShapeTrack, float], ...]  # (track in world units, speed factor)
    in_front: tuple[bool, ...]  # per distractor: drawn over the prompted shapes
    landmarks: np.ndarray  # [LANDMARKS, 4]: world x, y, radius, brightness offset
    camera: Camera


def sample_judge_scene(prompt: DemoPrompt, rng: np.random.Generator, duration: float) -> JudgeScene:
    base = sample_scene(prompt, rng, duration)
    motion = base.tracks[0].motion
    speed = float(rng.uniform(*PROMPTED_SPEED)) if motion in SPEED_SCALABLE else 1.0
    used = {c for c in COLOURS if _close(COLOURS[c], base.tracks[0].colour)}
    distractors = []
    for _ in range(int(rng.integers(1, 4))):
        colour_name = _pick(rng, tuple(c for c in COLOURS if c not in used))
        used.add(colour_name)
        sub = DemoPrompt(motion=_pick(rng, DISTRACTOR_MOTIONS), shape=_pick(rng, SHAPES), colour=colour_name)
        track = sample_scene(sub, rng, duration).tracks[0]
        track = ShapeTrack(
            track.kind, track.colour, track.radius * float(rng.uniform(0.45, 0.7)), track.motion, track.params
        )
        distractors.append((track, float(rng.uniform(*DISTRACTOR_SPEED))))
    in_front = tuple(bool(rng.random() < 0.5) for _ in distractors)
    landmarks = np.stack(
        [
            rng.uniform(-0.6, 1.6, LANDMARKS),
            rng.uniform(-0.2, 1.2, LANDMARKS),
            rng.uniform(0.08, 0.22, LANDMARKS),
            rng.uniform(0.05, 0.12, LANDMARKS) * np.where(rng.random(LANDMARKS) < 0.5, -1.0, 1.0),
        ],
        axis=1,
    )
    if rng.random() < CAMERA_STILL_SHARE:
        camera = Camera(0.0, 0.0)
    else:
        speed_cam = float(rng.uniform(*CAMERA_SPEED))
        angle = float(rng.uniform(-0.35, 0.35)) + (0.0 if rng.random() < 0.5 else np.pi)
        camera = Camera(speed_cam * np.cos(angle), speed_cam * np.sin(angle))
    return JudgeScene(base, speed, tuple(distractors), in_front, landmarks, camera)


@dataclass(frozen=True)
class SceneArrays:
    """One clip's poses, back to front: ``[MAX_SHAPES, F]`` x, y, scale, angle (screen units),
    radius, kind id and colour per shape (absent shapes have radius 0), the landmarks in screen
    units ``[LANDMARKS, F, 2]`` with radius and offset, the background's style and colours."""

    x: np.ndarray
    y: np.ndarray
    scale: np.ndarray
    angle: np.ndarray
    radius: np.ndarray  # [MAX_SHAPES]
    kind: np.ndarray  # [MAX_SHAPES] int
    colour: np.ndarray  # [MAX_SHAPES, 3]
    landmark_xy: np.ndarray  # [LANDMARKS, F, 2]
    landmark_radius: np.ndarray  # [LANDMARKS]
    landmark_offset: np.ndarray  # [LANDMARKS]
    background: int  # index into BACKGROUND_STYLES
    background_colours: np.ndarray  # [2, 3]


BACKGROUND_STYLES = ("plain", "vertical-gradient", "horizontal-gradient", "radial-gradient")


def scene_arrays(scene: JudgeScene, times: np.ndarray) -> SceneArrays:
    t = np.asarray(times, dtype=np.float64)
    frames = t.size
    cam_x, cam_y = scene.camera.vx * t, scene.camera.vy * t
    behind, front = [], []
    for (track, speed), over in zip(scene.distractors, scene.in_front, strict=True):
        pose = track.pose(t * speed)
        (front if over else behind).append((track, pose.x - cam_x, pose.y - cam_y, pose.scale, pose.angle))
    prompted = []
    for track in scene.base.tracks:
        pose = track.pose(t * scene.prompted_speed)
        prompted.append((track, pose.x, pose.y, pose.scale, pose.angle))
    layers = behind + prompted + front
    x = np.zeros((MAX_SHAPES, frames))
    y = np.zeros((MAX_SHAPES, frames))
    scale = np.ones((MAX_SHAPES, frames))
    angle = np.zeros((MAX_SHAPES, frames))
    radius = np.zeros(MAX_SHAPES)
    kind = np.zeros(MAX_SHAPES, dtype=np.int64)
    colour = np.zeros((MAX_SHAPES, 3))
    for i, (track, lx, ly, ls, la) in enumerate(layers):
        x[i], y[i], scale[i], angle[i] = lx, ly, ls, la
        radius[i] = track.radius
        kind[i] = SHAPE_KINDS.index(track.kind)
        colour[i] = track.colour
    marks = scene.landmarks
    landmark_xy = np.stack([marks[:, None, 0] - cam_x[None], marks[:, None, 1] - cam_y[None]], axis=-1)
    return SceneArrays(
        x,
        y,
        scale,
        angle,
        radius,
        kind,
        colour,
        landmark_xy,
        marks[:, 2].copy(),
        marks[:, 3].copy(),
        BACKGROUND_STYLES.index(scene.base.background),
        np.asarray(scene.base.background_colours, dtype=np.float64),
    )


def stack_arrays(items: list[SceneArrays]) -> dict[str, np.ndarray]:
    """A batch of clips' arrays, each field stacked along a new first axis."""
    return {name: np.stack([getattr(a, name) for a in items]) for name in SceneArrays.__dataclass_fields__}


def _close(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return max(abs(p - q) for p, q in zip(a, b, strict=True)) <= 0.051


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]
