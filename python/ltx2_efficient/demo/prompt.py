"""The demo model's "text": a prompt is four attributes, each one context token.

Index 0 of every attribute means "unspecified"; it is what classifier-free guidance uses as
the unconditional prompt and what attribute dropout trains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MOTIONS: tuple[str, ...] = ("pan", "bounce", "rotate", "orbit", "zoom", "cross", "fall")
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "bar")
COLOURS: dict[str, tuple[float, float, float]] = {
    "red": (0.92, 0.18, 0.16),
    "green": (0.20, 0.80, 0.25),
    "blue": (0.22, 0.42, 0.95),
    "yellow": (0.96, 0.86, 0.20),
    "cyan": (0.20, 0.85, 0.88),
    "magenta": (0.88, 0.25, 0.82),
    "orange": (0.98, 0.55, 0.12),
    "white": (0.95, 0.95, 0.95),
}
BACKGROUNDS: tuple[str, ...] = ("plain", "vertical-gradient", "horizontal-gradient", "radial-gradient")

# Sizes of the embedding tables, "unspecified" included (index 0).
VOCABULARY_SIZES: tuple[int, int, int, int] = (
    len(MOTIONS) + 1,
    len(SHAPES) + 1,
    len(COLOURS) + 1,
    len(BACKGROUNDS) + 1,
)
PROMPT_TOKENS = len(VOCABULARY_SIZES)


@dataclass(frozen=True)
class DemoPrompt:
    """A prompt; ``None`` leaves an attribute unspecified (the model picks)."""

    motion: str | None = None
    shape: str | None = None
    colour: str | None = None
    background: str | None = None

    def __post_init__(self) -> None:
        _check("motion", self.motion, MOTIONS)
        _check("shape", self.shape, SHAPES)
        _check("colour", self.colour, tuple(COLOURS))
        _check("background", self.background, BACKGROUNDS)

    def token_ids(self) -> tuple[int, int, int, int]:
        return (
            _index(self.motion, MOTIONS),
            _index(self.shape, SHAPES),
            _index(self.colour, tuple(COLOURS)),
            _index(self.background, BACKGROUNDS),
        )

    def text(self) -> str:
        colour = self.colour or "any-colour"
        shape = self.shape or "shape"
        motion = self.motion or "any motion"
        background = self.background or "any background"
        return f"{colour} {shape}, {motion}, {background}"

    @staticmethod
    def parse(text: str) -> DemoPrompt:
        """Parses words such as ``"red circle orbit plain"`` in any order."""
        fields: dict[str, str] = {}
        for word in text.replace(",", " ").split():
            for name, vocabulary in (
                ("motion", MOTIONS),
                ("shape", SHAPES),
                ("colour", tuple(COLOURS)),
                ("background", BACKGROUNDS),
            ):
                if word in vocabulary:
                    fields[name] = word
                    break
            else:
                known = " ".join((*MOTIONS, *SHAPES, *COLOURS, *BACKGROUNDS))
                raise ValueError(f"prompt word must be one of {known}, got '{word}'")
        return DemoPrompt(**fields)


def random_prompt(rng: np.random.Generator) -> DemoPrompt:
    """A fully specified prompt drawn uniformly."""
    return DemoPrompt(
        motion=MOTIONS[rng.integers(len(MOTIONS))],
        shape=SHAPES[rng.integers(len(SHAPES))],
        colour=tuple(COLOURS)[rng.integers(len(COLOURS))],
        background=BACKGROUNDS[rng.integers(len(BACKGROUNDS))],
    )


def _check(name: str, value: str | None, vocabulary: tuple[str, ...]) -> None:
    if value is not None and value not in vocabulary:
        raise ValueError(f"{name} must be one of {' '.join(vocabulary)}, got '{value}'")


def _index(value: str | None, vocabulary: tuple[str, ...]) -> int:
    return 0 if value is None else vocabulary.index(value) + 1
