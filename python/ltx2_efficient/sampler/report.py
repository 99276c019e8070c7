"""What a run applied and what it saved, as data and as one log line.

Hosts fill a :class:`RunReport` while sampling (frames diffused, model calls and the video tokens
they processed, steps reused per modality, attention pairs, phase times) and log
:meth:`RunReport.log_line`, e.g.::

    window K=2 on 48 blocks (pair fraction 0.412); 9/30 steps reused; 5 of 16 latent frames
    diffused, 3 refine steps; 1.31M video token-passes (38% of dense); 41.2 s

A host that follows a step schedule also says which steps ran what::

    window K=2 on steps 10-30 (dense blocks 1,48 of 48; pair fraction 0.412); 0/30 steps
    reused; keyframes s=2 on steps 5-20: 9 of 16 latent frames diffused; ...

(steps and blocks counted from 1, as the schedule's summary counts them).

"token-passes" counts, over every model call that ran, the video tokens of the call times the
batch: the work the transformer did, comparable across presets for the same request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ltx2_efficient.sampler.attention_patch import AttentionStats
from ltx2_efficient.sampler.reuse import ReuseSummary


def step_ranges(steps: list[int]) -> str:
    """Step indices as a user counts steps (from 1): ``[0, 1, 2, 5, 7, 8]`` -> ``"1-3, 6, 8-9"``."""
    out: list[str] = []
    ordered = sorted({s + 1 for s in steps})
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        out.append(str(ordered[i]) if i == j else f"{ordered[i]}-{ordered[j]}")
        i = j + 1
    return ", ".join(out)


def _si(value: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{unit}"
    return f"{value:.0f}"


@dataclass
class RunReport:
    """Counters of one sampling run; hosts update the fields, then call :meth:`log_line`."""

    settings: str = ""  # EfficientSettings.describe()
    blocks: int = 0  # transformer blocks whose video self-attention was patched
    window: int = -1  # K, -1 = dense
    anchor_frame: bool = False
    far_field: int = 0
    steps: int = 0  # steps of the main (keyframe) phase
    schedule: str = ""  # which steps ran what (the core's StepSchedule.summary)
    refine_steps: int = 0  # steps of the refine phase (0 = none)
    full_frames: int = 0  # latent frames of the clip
    diffused_frames: int = 0  # latent frames diffused in the main phase
    pinned_frames: list[int] = field(default_factory=list)
    keyframes: list[int] | None = None  # latent frames diffused in the main phase (None = all)
    interpolation: str = ""  # method used to expand the keyframes ("" = none)
    keyframe_mode: str = ""  # "refine" or "bottleneck" ("" = no keyframes)
    frame_stride: int = 1
    window_steps: list[int] | None = None  # step indices that ran windowed (None = not tracked)
    dense_blocks: list[int] = field(default_factory=list)  # block indices kept dense when windowed
    keyframe_steps: list[int] = field(default_factory=list)  # step indices run on the keyframes
    refine_windowed: bool = False  # the refine steps ran windowed
    model_calls: int = 0  # transformer forwards that ran
    token_passes: float = 0.0  # sum over calls of video tokens x batch
    dense_token_passes: float = 0.0  # the same for the plain loop on the same request
    reuse: dict[str, ReuseSummary] = field(default_factory=dict)  # by modality
    attention: AttentionStats = field(default_factory=AttentionStats)
    text_kv_reused: int = 0  # video text cross-attention K/V projections answered from the cache
    text_kv_computed: int = 0  # ... and computed
    times: dict[str, float] = field(default_factory=dict)  # phase -> seconds
    notes: list[str] = field(default_factory=list)
    cancelled: bool = False

    # ---- derived ----

    @property
    def pair_fraction(self) -> float:
        return self.attention.pair_fraction

    @property
    def work_fraction(self) -> float:
        """Video token-passes relative to the plain loop (1.0 when nothing was saved)."""
        return self.token_passes / self.dense_token_passes if self.dense_token_passes > 0 else 1.0

    def steps_reused(self, modality: str = "video") -> int:
        summary = self.reuse.get(modality)
        return summary.reused if summary is not None else 0

    @property
    def total_seconds(self) -> float:
        return sum(self.times.values())

    def add_note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)

    # ---- rendering ----

    def _attention_part(self) -> str:
        blocks = f" on {self.blocks} blocks" if self.blocks else ""
        if self.window < 0:
            return f"dense attention{blocks}"
        extra = (" +anchor" if self.anchor_frame else "") + (
            f" +far field p={self.far_field}" if self.far_field else ""
        )
        if self.window_steps is None:
            return f"window K={self.window}{extra}{blocks} (pair fraction {self.pair_fraction:.3f})"
        details = []
        of = f" of {self.blocks}" if self.blocks else ""
        if self.dense_blocks:
            details.append(f"dense blocks {','.join(str(b + 1) for b in self.dense_blocks)}{of}")
        elif self.blocks:
            details.append(f"{self.blocks} blocks")
        details.append(f"pair fraction {self.pair_fraction:.3f}")
        if self.attention.heads_measured:
            details.append(
                f"{self.attention.heads_windowed}/{self.attention.heads_measured} head-calls windowed"
            )
        if self.steps and len(set(self.window_steps)) == self.steps:
            where = "on every step"
            if self.refine_steps and not self.refine_windowed:
                where = "on every step but the refine steps"
        elif self.window_steps:
            where = f"on steps {step_ranges(self.window_steps)}"
            if self.refine_windowed:
                where += " and the refine steps"
        else:
            where = "on the refine steps" if self.refine_windowed else "on no step"
        return f"window K={self.window}{extra} {where} ({'; '.join(details)})"

    def _reuse_part(self) -> str:
        if not self.reuse:
            return f"0/{self.steps} steps reused"
        video = self.reuse.get("video")
        parts = []
        if video is not None:
            parts.append(f"{video.reused}/{video.steps} steps reused")
        for name, summary in self.reuse.items():
            if name != "video":
                parts.append(f"{name} {summary.reused}/{summary.steps}")
        return ", ".join(parts)

    def _frames_part(self) -> str:
        text = f"{self.diffused_frames} of {self.full_frames} latent frames diffused"
        if self.keyframe_mode == "bottleneck" and self.keyframe_steps:
            text = f"keyframes s={self.frame_stride} on steps {step_ranges(self.keyframe_steps)}: " + text
        if self.refine_steps:
            text += f", {self.refine_steps} refine steps"
        return text

    def log_line(self) -> str:
        """One line: attention, reuse, frames, work done vs dense, time (and notes)."""
        parts = [self._attention_part(), self._reuse_part(), self._frames_part()]
        if self.schedule:
            parts.append(self.schedule)
        if self.text_kv_reused:
            total = self.text_kv_reused + self.text_kv_computed
            parts.append(f"text K/V reused {self.text_kv_reused}/{total}")
        if self.dense_token_passes > 0:
            parts.append(f"{_si(self.token_passes)} video token-passes ({self.work_fraction:.0%} of dense)")
        if self.times:
            parts.append(f"{self.total_seconds:.1f} s")
        if self.cancelled:
            parts.append("cancelled")
        line = "; ".join(parts)
        if self.notes:
            line += " [" + "; ".join(self.notes) + "]"
        return line

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready counters."""
        return {
            "settings": self.settings,
            "blocks": self.blocks,
            "window": self.window,
            "anchor_frame": self.anchor_frame,
            "far_field": self.far_field,
            "steps": self.steps,
            "schedule": self.schedule,
            "refine_steps": self.refine_steps,
            "full_frames": self.full_frames,
            "diffused_frames": self.diffused_frames,
            "pinned_frames": list(self.pinned_frames),
            "keyframes": None if self.keyframes is None else list(self.keyframes),
            "interpolation": self.interpolation,
            "keyframe_mode": self.keyframe_mode,
            "frame_stride": self.frame_stride,
            "window_steps": None if self.window_steps is None else list(self.window_steps),
            "dense_blocks": list(self.dense_blocks),
            "keyframe_steps": list(self.keyframe_steps),
            "refine_windowed": self.refine_windowed,
            "model_calls": self.model_calls,
            "token_passes": self.token_passes,
            "dense_token_passes": self.dense_token_passes,
            "work_fraction": self.work_fraction,
            "pair_fraction": self.pair_fraction,
            "attention_calls": {
                "total": self.attention.calls,
                "windowed": self.attention.windowed_calls,
                "dense": self.attention.dense_calls,
                "masked_dense": self.attention.masked_dense_calls,
                "backends": sorted(self.attention.backends),
                "heads_windowed": self.attention.heads_windowed,
                "heads_measured": self.attention.heads_measured,
            },
            "windowed_head_share": self.attention.windowed_head_share,
            "reuse": {
                name: {
                    "steps": s.steps,
                    "computed": s.computed,
                    "reused": s.reused,
                    "mode": s.mode,
                    "by_reason": dict(s.by_reason),
                }
                for name, s in self.reuse.items()
            },
            "text_kv": {"reused": self.text_kv_reused, "computed": self.text_kv_computed},
            "times": dict(self.times),
            "notes": list(self.notes),
            "cancelled": self.cancelled,
            "log_line": self.log_line(),
        }
