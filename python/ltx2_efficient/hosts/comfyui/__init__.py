"""ComfyUI nodes and model patches of the efficient sampler."""
