"""Turning the ComfyUI runs of a request into one :class:`RunReport` (one log line per run)."""

from __future__ import annotations

from ltx2_efficient import _core
from ltx2_efficient.hosts.comfyui.ltx_model import LtxModelInfo
from ltx2_efficient.hosts.comfyui.run_state import RunState
from ltx2_efficient.sampler.attention_patch import AttentionStats
from ltx2_efficient.sampler.keyframes import KeyframeLayout
from ltx2_efficient.sampler.report import RunReport
from ltx2_efficient.sampler.reuse import ReuseSummary
from ltx2_efficient.sampler.settings import EfficientSettings


def merge_reuse(summaries: list[ReuseSummary], steps: list[int] | None = None) -> ReuseSummary | None:
    """One summary over the phases of a run (counts added; steps added, or ``steps[i]`` for
    summary i when its controller counted request-wide steps)."""
    if not summaries:
        return None
    merged = ReuseSummary(modality=summaries[0].modality, mode=summaries[0].mode, steps=0)
    for i, s in enumerate(summaries):
        merged.steps += steps[i] if steps is not None else s.steps
        merged.computed += s.computed
        merged.reused += s.reused
        for reason, count in s.by_reason.items():
            merged.by_reason[reason] = merged.by_reason.get(reason, 0) + count
        merged.decisions.extend(s.decisions)
    return merged


def _grid_tokens(run: RunState) -> float:
    if run.grid is None:
        return 0.0
    f, h, w = run.grid
    return float(f * h * w + run.global_tokens)


def _dense_token_passes(runs: list[RunState], layout: KeyframeLayout | None) -> float:
    """What the plain loop would have run: every model call of the phases that stand for the
    request's steps (not the refine phase), at the full clip's token count."""
    dense = 0.0
    for run in runs:
        if run.config.phase == "refine":
            continue
        passes = run.seen_token_passes
        if run.config.phase == "keyframes" and layout is not None and run.grid is not None:
            plane = run.grid[1] * run.grid[2]
            full_tokens = float(layout.full_frames * plane + run.global_tokens)
            kept = _grid_tokens(run)
            passes = passes * full_tokens / kept if kept > 0 else passes
        dense += passes
    return dense


def _step_ranges(report: RunReport, runs: list[RunState], schedule: _core.StepSchedule | None) -> None:
    """Which request steps ran windowed and on keyframes, and the blocks kept dense."""
    if schedule is None:
        return
    windowed: set[int] = set()
    dense_blocks: set[int] = set()
    keyframes: list[int] = []
    for run in runs:
        windowed |= run.windowed_steps
        dense_blocks |= run.dense_blocks
        if run.config.phase == "keyframes":
            keyframes.extend(range(run.config.step_offset, run.config.step_offset + run.steps))
        if run.config.phase == "refine" and run.stats.windowed_calls:
            report.refine_windowed = True
    report.window_steps = sorted(windowed)
    report.dense_blocks = sorted(dense_blocks)
    report.keyframe_steps = sorted(set(keyframes))


def build_report(
    settings: EfficientSettings,
    model: LtxModelInfo,
    runs: list[RunState],
    *,
    layout: KeyframeLayout | None = None,
    frames: int = 0,
    steps: int = 0,
    refine_steps: int = 0,
    times: dict[str, float] | None = None,
    notes: list[str] | None = None,
    cancelled: bool = False,
    schedule: _core.StepSchedule | None = None,
) -> RunReport:
    """The report of ``runs`` (the phases in order). ``dense_token_passes`` is what the plain
    loop would have run (see :func:`_dense_token_passes`); with a ``schedule`` (or runs that
    carry one) the report says which steps ran windowed and on keyframes."""
    report = RunReport(
        settings=settings.describe(),
        blocks=model.layers if settings.window_enabled else 0,
        window=settings.window,
        anchor_frame=settings.anchor_frame,
        far_field=settings.far_field,
        steps=steps,
        refine_steps=refine_steps,
        full_frames=frames,
        diffused_frames=layout.diffused_frames if layout is not None else frames,
        pinned_frames=[int(f) for f in layout.plan.pinned] if layout is not None else [],
        keyframes=[int(f) for f in layout.plan.diffused] if layout is not None else None,
        interpolation=settings.interpolation if layout is not None else "",
        keyframe_mode=settings.keyframe_mode if layout is not None else "",
        frame_stride=settings.frame_stride if layout is not None else 1,
    )
    attention = AttentionStats()
    reuse: list[ReuseSummary] = []
    reuse_steps: list[int] = []
    for run in runs:
        report.model_calls += run.model_calls
        report.token_passes += run.token_passes
        report.text_kv_reused += run.text_kv_reused
        report.text_kv_computed += run.text_kv_computed
        attention.merge(run.stats)
        summary = run.reuse_summary()
        if summary is not None:
            reuse.append(summary)
            reuse_steps.append(run.steps)
        for note in run.notes:
            report.add_note(note)
    report.attention = attention
    if attention.masked_dense_calls:
        report.add_note(f"{attention.masked_dense_calls} video attention calls dense (guide attention mask)")
    merged = merge_reuse(reuse, reuse_steps)
    if merged is not None:
        report.reuse["video"] = merged
        if model.audio_video:
            follower = ReuseSummary(modality="audio", mode=merged.mode, steps=merged.steps)
            follower.computed, follower.reused = merged.computed, merged.reused
            follower.by_reason = {"follows_video": merged.steps}
            report.reuse["audio"] = follower
    if runs:
        report.dense_token_passes = _dense_token_passes(runs, layout)
    _step_ranges(report, runs, schedule if schedule is not None else (runs[0].schedule if runs else None))
    report.times = dict(times or {})
    for note in notes or []:
        report.add_note(note)
    report.cancelled = cancelled
    return report
