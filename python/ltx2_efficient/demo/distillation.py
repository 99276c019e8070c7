"""Few-step distillation: a student that takes one Euler step where the teacher takes several.

The student learns LTX-2's distilled schedule (``LTX2_DISTILLED_SIGMAS``, 8 steps) without
classifier-free guidance: at each of its noise levels ``s_i`` (a training batch picks one), the
teacher (the dev model, CFG) walks from ``x_i`` to ``s_{i+1}`` in ``substeps(i)`` Euler steps, and
the student's velocity is regressed onto the straight line between the two points, so one
student step lands where the guided teacher lands. This is progressive distillation collapsed
into one round (the teacher's fine steps are computed on the fly), with the guidance folded in.
``x_i`` is data noised to ``s_i`` (the marginal the teacher was trained on).
"""

from __future__ import annotations

import math

import torch

from ltx2_efficient.demo.model import DemoModel

# LTX-2's distilled model's schedule (its 8 steps, CFG 1).
LTX2_DISTILLED_SIGMAS = (1.0, 0.99375, 0.9875, 0.98125, 0.975, 0.909375, 0.725, 0.421875, 0.0)
TEACHER_STEP = 0.05  # the teacher's largest Euler step in sigma
TEACHER_GUIDANCE = 3.0


def substeps(sigmas: tuple[float, ...], i: int) -> int:
    """Teacher Euler steps for the student's step ``i`` (at least 2)."""
    return max(2, math.ceil((sigmas[i] - sigmas[i + 1]) / TEACHER_STEP - 1e-9))


@torch.no_grad()
def teacher_velocity(
    teacher: DemoModel,
    x: torch.Tensor,
    sigmas: tuple[float, ...],
    i: int,
    context: torch.Tensor,
    uncond: torch.Tensor,
    frame_rate: float,
    guidance: float = TEACHER_GUIDANCE,
) -> torch.Tensor:
    """The velocity of the straight line from ``x`` at ``sigmas[i]`` to the guided teacher's
    point at ``sigmas[i + 1]`` (float32, like ``x``)."""
    b = x.shape[0]
    n = substeps(sigmas, i)
    start, end = sigmas[i], sigmas[i + 1]
    y = x.float()
    both_context = torch.cat([context, uncond])
    for j in range(n):
        s = start + (end - start) * j / n
        s_next = start + (end - start) * (j + 1) / n
        sig = torch.full((2 * b,), s, device=x.device)
        v = teacher.velocity(torch.cat([y, y]).to(x.dtype), sig, both_context, frame_rate).float()
        cond, free = v[:b], v[b:]
        y = y + (cond + (guidance - 1.0) * (cond - free)) * (s_next - s)
    return (y - x.float()) / (end - start)
