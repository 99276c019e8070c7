"""Writes a tiny LTXV transformer and its conditioning into a ComfyUI folder, for server smoke runs.

Run it with ComfyUI's Python: ``python scripts/comfyui_tiny_ltxv.py --comfyui /path/to/ComfyUI``.
It builds ComfyUI's own LTXV model class with 2 blocks of 4 heads x 8 channels and random weights
(nothing is downloaded), and writes

- ``models/diffusion_models/ltx2eff_tiny_ltxv.safetensors``: the weights under the
  ``model.diffusion_model.`` prefix of a full checkpoint, with the transformer's shape in the
  ``config`` metadata (ComfyUI's detector would guess 32 heads otherwise); UNETLoader loads it;
- ``output/ltx2eff_tiny_positive/`` and ``output/ltx2eff_tiny_negative/``: one conditioning each
  (7 text tokens of width 32 and their attention mask), in the shard format that ComfyUI's
  LoadTrainingDataset node reads.

scripts/comfyui_tiny_ltxv_workflow.json samples with them (comfyui_tiny_ltxv_check_workflow.json runs the
efficiency check with a sweep on them). Existing files are replaced only with
``--force``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

MODEL_NAME = "ltx2eff_tiny_ltxv.safetensors"
DATASETS = {"positive": "ltx2eff_tiny_positive", "negative": "ltx2eff_tiny_negative"}
TRANSFORMER = {
    "image_model": "ltxv",
    "in_channels": 128,
    "cross_attention_dim": 32,
    "attention_head_dim": 8,
    "num_attention_heads": 4,
    "caption_channels": 32,
    "num_layers": 2,
}
TEXT_TOKENS = 7


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comfyui", required=True, type=Path, help="the ComfyUI checkout (holds main.py)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random weights and conditioning")
    parser.add_argument("--force", action="store_true", help="replace files written by an earlier run")
    args = parser.parse_args(argv)
    if not (args.comfyui / "main.py").is_file():
        parser.error(f"--comfyui: {args.comfyui} has no main.py (expected a ComfyUI checkout)")
    return args


def _tiny_state_dict(seed: int) -> dict:
    import comfy.supported_models
    import torch

    config = comfy.supported_models.LTXV(dict(TRANSFORMER))
    config.set_inference_dtype(torch.float32, None)
    model = config.get_model({}, device=torch.device("cpu")).diffusion_model
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.05)
    return {f"model.diffusion_model.{k}": v.contiguous() for k, v in model.state_dict().items()}


def _conditioning(seed: int) -> list:
    import torch

    generator = torch.Generator().manual_seed(seed)
    embeddings = torch.randn((1, TEXT_TOKENS, TRANSFORMER["caption_channels"]), generator=generator)
    mask = torch.ones((1, TEXT_TOKENS), dtype=torch.long)  # what LTX text encoders return beside it
    return [[embeddings, {"frame_rate": 24.0, "attention_mask": mask}]]


def _write_dataset(folder: Path, conditioning: list) -> None:
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    # LoadTrainingDataset reads every shard_*.pkl: a latent list and a conditioning list.
    torch.save({"latents": [{}], "conditioning": [conditioning]}, folder / "shard_0000.pkl")
    (folder / "metadata.json").write_text(json.dumps({"num_samples": 1, "num_shards": 1, "shard_size": 1}))


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    model_path = args.comfyui / "models" / "diffusion_models" / MODEL_NAME
    folders = {role: args.comfyui / "output" / name for role, name in DATASETS.items()}
    existing = [str(p) for p in (model_path, *folders.values()) if p.exists()]
    if existing and not args.force:
        print(f"already there (pass --force to replace): {', '.join(existing)}", file=sys.stderr)
        return 1
    sys.path.insert(0, str(args.comfyui.resolve()))
    from comfy.cli_args import args as comfy_args

    comfy_args.cpu = True  # the weights are built on the CPU whatever the machine has
    import comfy.utils

    model_path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"config": json.dumps({"transformer": TRANSFORMER})}
    comfy.utils.save_torch_file(_tiny_state_dict(args.seed), str(model_path), metadata=metadata)
    for offset, (role, folder) in enumerate(folders.items()):
        _write_dataset(folder, _conditioning(args.seed + 1 + offset))
        print(f"{role} conditioning: {folder}")
    print(f"model: {model_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
