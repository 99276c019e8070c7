"""Turning the ComfyUI runs of a request into one :class:`RunReport` (one log line per run)."""

from __future__ import annotations

from ltx2_efficient.hosts.comfyui.ltx_model import LtxModelInfo
from ltx2_efficient.hosts.comfyui.run_state import RunState
from ltx2_efficient.sampler.attention_patch import AttentionStats
from ltx2_efficient.sampler.keyframes import KeyframeLayout
from ltx2_efficient.sampler.report import RunReport
from ltx2_efficient.sampler.reuse import ReuseSummary
from ltx2_efficient.sampler.settings import EfficientSettings


def merge_reuse(summaries: list[ReuseSummary]) -> ReuseSummary | None:
    """One summary over the phases of a run (steps and counts added)."""
    if not summaries:
        return None
    merged = ReuseSummary(modality=summaries[0].modality, mode=summaries[0].mode, steps=0)
    for s in summaries:
        merged.steps += s.steps
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
) -> RunReport:
    """The report of ``runs`` (in order; with a keyframe layout the first run is the keyframe
    phase). ``dense_token_passes`` is what the plain loop would have run: every model call of the
    main phase at the full clip's token count."""
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
    )
    attention = AttentionStats()
    reuse: list[ReuseSummary] = []
    for run in runs:
        report.model_calls += run.model_calls
        report.token_passes += run.token_passes
        report.text_kv_reused += run.text_kv_reused
        report.text_kv_computed += run.text_kv_computed
        attention.merge(run.stats)
        summary = run.reuse_summary()
        if summary is not None:
            reuse.append(summary)
        for note in run.notes:
            report.add_note(note)
    report.attention = attention
    if attention.masked_dense_calls:
        report.add_note(f"{attention.masked_dense_calls} video attention calls dense (guide attention mask)")
    merged = merge_reuse(reuse)
    if merged is not None:
        report.reuse["video"] = merged
        if model.audio_video:
            follower = ReuseSummary(modality="audio", mode=merged.mode, steps=merged.steps)
            follower.computed, follower.reused = merged.computed, merged.reused
            follower.by_reason = {"follows_video": merged.steps}
            report.reuse["audio"] = follower
    if runs:
        main = runs[0]
        dense = main.seen_token_passes
        if layout is not None and main.grid is not None:
            plane = main.grid[1] * main.grid[2]
            full_tokens = float(layout.full_frames * plane + main.global_tokens)
            kept = _grid_tokens(main)
            dense = dense * full_tokens / kept if kept > 0 else dense
        report.dense_token_passes = dense
    report.times = dict(times or {})
    for note in notes or []:
        report.add_note(note)
    report.cancelled = cancelled
    return report
