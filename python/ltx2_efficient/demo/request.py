"""What the demo and eval generate: a prompt, a seed, steps and guidance, checked on creation.

Kept apart from the runs (and free of torch) so that the command line checks its arguments
before it imports anything heavy.
"""

from __future__ import annotations

from dataclasses import dataclass

from ltx2_efficient.demo.prompt import DemoPrompt


@dataclass(frozen=True)
class DemoRequest:
    """What to generate: the same request is run with every setting being compared."""

    prompt: DemoPrompt
    seed: int = 0
    steps: int = 20
    guidance: float = 3.0

    def __post_init__(self) -> None:
        if not 1 <= self.steps <= 200:
            raise ValueError(f"steps must be in [1, 200], got {self.steps}")
        if not 1.0 <= self.guidance <= 20.0:
            raise ValueError(f"guidance must be in [1, 20], got {self.guidance}")
        if not 0 <= self.seed < 2**63:
            raise ValueError(f"seed must be in [0, 2^63), got {self.seed}")
