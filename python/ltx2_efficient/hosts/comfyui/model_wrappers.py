"""The ComfyUI wrappers of the patch: one per sampling run, one per transformer call.

``outer_sample_wrapper`` (``WrappersMP.OUTER_SAMPLE``, called as
``wrapper(executor, noise, latent_image, sampler, sigmas, denoise_mask, callback, disable_pbar,
seed, latent_shapes=...)`` with ``executor.class_obj`` the guider) gives every run a fresh
:class:`RunState` the way core EasyCache does: a clone of ``guider.model_options`` carrying it
for the duration of the run, and empties the text K/V caches before and after it.

``diffusion_model_wrapper`` (``WrappersMP.DIFFUSION_MODEL``, called with
``LTXBaseModel.forward``'s arguments, see :mod:`diffusion_call`) then, per transformer call:

1. in the keyframe phase, divides the frame rate and the keyframe guides' time positions by the
   stride (the model sees a clip of F' frames at ``fps / s`` spanning the same seconds);
2. records the call's token layout for the attention override;
3. sets the feed-forward chunk size from the activation budget (C++ cost model);
4. places the call in the request's step schedule (:mod:`step_clock`: the step from the call's
   sigma within the run's sigmas, plus the phase's first step), which the attention override
   reads to window only the steps the schedule says;
5. decides step reuse for the video (the EasyCache-style policy of ``sampler.reuse``) and
   either returns the reused output or runs the model and records its output.

Step reuse in LTX-2 audio-video models: the video and audio streams exchange cross-attention in
every block, so one stream cannot be computed without the other's hidden states of the same
step. The video policy decides the step (the video stream is where the cost is); the audio
output of a reused step is the audio output of the last computed step of the same call.
"""

from __future__ import annotations

from typing import Any

import torch

from ltx2_efficient.hosts.comfyui.diffusion_call import DiffusionCall, call_geometry
from ltx2_efficient.hosts.comfyui.regime import settings_for_run
from ltx2_efficient.hosts.comfyui.run_state import CONFIG_KEY, GEOMETRY_KEY, RUN_KEY, PatchConfig, RunState
from ltx2_efficient.hosts.comfyui.text_kv_patch import cache_counts, reset_caches
from ltx2_efficient.sampler import chunking
from ltx2_efficient.sampler.attention_patch import WindowedSelfAttention
from ltx2_efficient.sampler.reuse import StepReuse

OUTER_SAMPLE = "outer_sample"  # comfy.patcher_extension.WrappersMP.OUTER_SAMPLE
DIFFUSION_MODEL = "diffusion_model"  # comfy.patcher_extension.WrappersMP.DIFFUSION_MODEL
PREDICT_NOISE = "predict_noise"  # comfy.patcher_extension.WrappersMP.PREDICT_NOISE


def copy_nested(options: dict[str, Any]) -> dict[str, Any]:
    """ComfyUI's ``create_model_options_clone``: nested dicts and lists copied, objects shared."""
    out = dict(options)
    for key, value in options.items():
        if isinstance(value, dict):
            out[key] = copy_nested(value)
        elif isinstance(value, list):
            out[key] = list(value)
    return out


def new_run_state(config: PatchConfig, steps: int, guider: Any = None) -> RunState:
    """The state of one run of ``steps`` steps of ``guider``: the request's settings and
    schedule when the sampler node set them (a phase of it), else this run's own, with the
    preset resolved for the run's regime."""
    settings = config.settings
    schedule = config.schedule
    if schedule is None and steps >= 1:
        settings = settings_for_run(settings, steps, guider)
        schedule = settings.step_schedule(steps)
    reuse = None
    if settings.reuse_enabled and steps >= 1:
        # Request-wide step indices, so a phase's policy sees where it is in the whole run.
        total = schedule.steps if schedule is not None and config.phase != "refine" else steps
        reuse = StepReuse.from_settings(settings, steps=max(total, steps), modality="video")
    return RunState(
        config=config,
        settings=settings,
        steps=steps,
        attention=WindowedSelfAttention(settings),
        schedule=schedule,
        reuse=reuse,
    )


def outer_sample_wrapper(executor: Any, *args: Any, **kwargs: Any) -> Any:
    guider = executor.class_obj
    options = getattr(guider, "model_options", None)
    config = options.get("transformer_options", {}).get(CONFIG_KEY) if isinstance(options, dict) else None
    if not isinstance(config, PatchConfig):
        return executor(*args, **kwargs)
    sigmas = args[3] if len(args) > 3 else kwargs.get("sigmas")
    steps = int(sigmas.shape[-1]) - 1 if isinstance(sigmas, torch.Tensor) else 0
    run = new_run_state(config, steps, guider)
    guider.model_options = copy_nested(options)
    guider.model_options.setdefault("transformer_options", {})[RUN_KEY] = run
    reset_caches(config.text_kv)
    try:
        return executor(*args, **kwargs)
    finally:
        guider.model_options = options
        run.text_kv_reused, run.text_kv_computed = cache_counts(config.text_kv)
        reset_caches(config.text_kv)  # frees the cached keys and values
        if config.on_run_end is not None:
            config.on_run_end(run)


def _scale_guide_times(keyframe_idxs: torch.Tensor, scale: float) -> torch.Tensor:
    """keyframe_idxs [B, 3, tokens, 2] with its time axis (dim 1, index 0) divided by scale."""
    scaled = keyframe_idxs.clone()
    scaled[:, 0] = scaled[:, 0] / scale
    return scaled


def _chunk_tokens(
    run: RunState, video: torch.Tensor, grid: tuple[int, int, int], globals_: int, text: int
) -> int | None:
    budget = run.settings.activation_budget_mb
    if budget <= 0:
        return None
    model = run.config.model
    dims = chunking.model_dims(
        blocks=max(model.layers, 1),
        heads=model.video_heads,
        head_dim=model.video_head_dim,
        in_channels=int(video.shape[1]),
        text_tokens=max(text, 1),
        dtype=video.dtype if video.is_floating_point() else torch.float32,
    )
    chunk = chunking.chunk_tokens_for_budget(
        dims,
        grid,
        budget,
        global_tokens=globals_,
        batch=int(video.shape[0]),
        window=run.settings.window_spec,
    )
    total = grid[0] * grid[1] * grid[2] + globals_
    return None if chunk >= total else chunk


def _call_key(options: dict[str, Any]) -> tuple[str, ...]:
    uuids = options.get("uuids")
    if isinstance(uuids, (list, tuple)) and uuids:
        return tuple(str(u) for u in uuids)
    return ("call",)


def diffusion_model_wrapper(executor: Any, *args: Any, **kwargs: Any) -> Any:
    call = DiffusionCall(args, kwargs)
    options = call.get("transformer_options")
    run = options.get(RUN_KEY) if isinstance(options, dict) else None
    if not isinstance(run, RunState):
        return executor(*args, **kwargs)
    config = run.config
    if config.time_scale != 1.0:
        call.set("frame_rate", call.frame_rate / config.time_scale)
        keyframe_idxs = call.get("keyframe_idxs")
        if isinstance(keyframe_idxs, torch.Tensor):
            call.set("keyframe_idxs", _scale_guide_times(keyframe_idxs, config.time_scale))

    geometry = call_geometry(call, config.model)
    call_options = dict(options)
    call_options[GEOMETRY_KEY] = geometry
    call.set("transformer_options", call_options)
    video = call.video
    batch = int(video.shape[0])
    run.batch = max(run.batch, batch)
    run.grid = geometry.grid
    run.global_tokens = geometry.global_tokens
    tokens = float(geometry.video_tokens * batch)
    run.seen_token_passes += tokens
    if geometry.windowable:
        run.chunk_tokens = _chunk_tokens(
            run, video, geometry.grid, geometry.global_tokens, geometry.text_tokens
        )
    else:
        run.chunk_tokens = None
    config.chunk.tokens = run.chunk_tokens
    if run.chunk_tokens is not None:
        budget = config.settings.activation_budget_mb
        run.add_note(
            f"feed-forward in chunks of {run.chunk_tokens} tokens for the {budget} MB activation budget"
        )

    local = run.clock.step(options)
    run.step = None if local is None else run.config.step_offset + local
    step = run.step
    reuse = run.reuse
    audio = call.audio
    key = _call_key(options)
    if reuse is not None and step is not None and step < reuse.steps:
        reusing = reuse.begin_step(step, video)
        audio_ready = audio is None or key in run.audio_cache
        if reusing and reuse.can_reuse(key) and audio_ready:
            run.reused_calls += 1
            video_out = reuse.reuse(video, key)
            if audio is not None:
                return [video_out, run.audio_cache[key].clone()]
            return video_out

    run.model_calls += 1
    run.token_passes += tokens
    out = executor(*call.args, **call.kwargs)
    if reuse is not None and step is not None and step < reuse.steps:
        video_out = out[0] if isinstance(out, (list, tuple)) else out
        reuse.record(video, video_out, key)
        if isinstance(out, (list, tuple)) and len(out) > 1:
            run.audio_cache[key] = out[1].detach().clone()
    return out
