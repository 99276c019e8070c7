"""Host adapters: ComfyUI and the official ltx-core."""
