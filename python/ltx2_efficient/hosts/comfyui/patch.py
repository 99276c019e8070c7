"""Installing the efficient patch on a ComfyUI model through its public hooks only.

:func:`install_patch` puts on a (cloned) ``ModelPatcher`` and a ``model_options`` dict:

- ``transformer_options["optimized_attention_override"]``: :class:`LTXAttentionOverride`,
  chaining whatever override was there before (another node's patch keeps applying);
- the ``OUTER_SAMPLE`` and ``DIFFUSION_MODEL`` wrappers of :mod:`model_wrappers` under the key
  ``"ltx2eff"`` (an earlier patch of ours on the same model is replaced, not stacked);
- object patches on each block's video self-attention that tell the override the block index
  (:mod:`block_tags`: the schedule's dense first/last blocks);
- with an activation budget, object patches that chunk each block's video feed-forward; without
  one, object patches that reuse the video text cross-attention keys and values (lossless).

Nothing replaces the model's forward; everything is undone by dropping the clone.
"""

from __future__ import annotations

from typing import Any

from ltx2_efficient.hosts.comfyui.attention_override import OVERRIDE_KEY, LTXAttentionOverride
from ltx2_efficient.hosts.comfyui.block_tags import install_block_tags
from ltx2_efficient.hosts.comfyui.feed_forward_chunks import ChunkedForward, feed_forward_patch_name
from ltx2_efficient.hosts.comfyui.model_wrappers import (
    DIFFUSION_MODEL,
    OUTER_SAMPLE,
    diffusion_model_wrapper,
    outer_sample_wrapper,
)
from ltx2_efficient.hosts.comfyui.run_state import CONFIG_KEY, WRAPPER_KEY, PatchConfig
from ltx2_efficient.hosts.comfyui.text_kv_patch import install_text_kv_cache


def installed_config(model_options: dict[str, Any]) -> PatchConfig | None:
    """The patch configuration already on these model options, if any."""
    config = model_options.get("transformer_options", {}).get(CONFIG_KEY)
    return config if isinstance(config, PatchConfig) else None


def install_patch(model_patcher: Any, model_options: dict[str, Any], config: PatchConfig) -> None:
    """Installs ``config`` on ``model_patcher`` (a clone owned by the caller) and ``model_options``."""
    options = model_options.setdefault("transformer_options", {})
    options[CONFIG_KEY] = config
    options[OVERRIDE_KEY] = LTXAttentionOverride(options.get(OVERRIDE_KEY))
    for kind, wrapper in ((OUTER_SAMPLE, outer_sample_wrapper), (DIFFUSION_MODEL, diffusion_model_wrapper)):
        model_patcher.remove_wrappers_with_key(kind, WRAPPER_KEY)
        model_patcher.add_wrapper_with_key(kind, WRAPPER_KEY, wrapper)
    install_block_tags(model_patcher)  # cheap; a run's regime may switch the window on
    if config.settings.activation_budget_mb > 0:
        _install_feed_forward_chunks(model_patcher, config)
    else:
        config.text_kv = install_text_kv_cache(model_patcher)


def _install_feed_forward_chunks(model_patcher: Any, config: PatchConfig) -> None:
    blocks = getattr(model_patcher.model.diffusion_model, "transformer_blocks", [])
    for index, block in enumerate(blocks):
        feed_forward = getattr(block, "ff", None)
        if feed_forward is not None:
            model_patcher.add_object_patch(
                feed_forward_patch_name(index), ChunkedForward(feed_forward, config.chunk)
            )
