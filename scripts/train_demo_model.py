#!/usr/bin/env python3
"""Trains the embedded demo model (a tiny ltx-core LTXModel) on procedural shape videos.

    PYTHONPATH=python python scripts/train_demo_model.py --out OUT --time-limit 240 --workers 12
    PYTHONPATH=python torchrun --nproc_per_node 4 scripts/train_demo_model.py ...   (one process per GPU)

Writes to OUT: demo_model.safetensors (EMA, fp16) + demo_model.json, the raw weights, loss.csv,
summary.json and preview.png (samples at full frame rate and at keyframe strides). Runs without
the compiled core, so a machine with only torch, numpy, einops, safetensors, pillow and
ltx-core can train.
"""

from __future__ import annotations

import argparse
import sys
import types
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ltx2_efficient.demo.trainer import TrainConfig

REPO = Path(__file__).resolve().parents[1]


def _import_demo_without_core() -> None:
    """Makes ``ltx2_efficient.demo`` importable even where the C++ core was never built."""
    try:
        import ltx2_efficient  # noqa: F401
    except ImportError:
        package = types.ModuleType("ltx2_efficient")
        package.__path__ = [str(REPO / "python" / "ltx2_efficient")]
        sys.modules["ltx2_efficient"] = package


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)

    _import_demo_without_core()
    import torch

    from ltx2_efficient.demo.trainer import train

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if args.teacher is not None and args.init is None:
        parser.error("--teacher needs --init (the student starts from trained weights)")
    result = train(_train_config(args, device))
    if not result.main_process:
        return 0  # rank 0 of a torchrun group reports and writes the preview
    print(
        f"trained {result.steps} steps in {result.wall_time_s:.1f} s on {device}"
        f" ({torch.cuda.get_device_name() if device == 'cuda' else 'CPU'}),"
        f" {result.samples_seen} clips, final loss {result.final_loss:.4f}",
        flush=True,
    )
    if not args.no_preview:
        _write_preview(Path(args.out), device)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="demo-training", help="output folder")
    parser.add_argument("--time-limit", type=float, default=240.0, help="wall-clock limit in seconds")
    parser.add_argument("--max-steps", type=int, default=1_000_000)
    parser.add_argument("--layers", type=int, default=5)
    parser.add_argument("--heads", type=int, default=6)
    parser.add_argument("--head-dim", type=int, default=32)
    parser.add_argument("--clips-per-batch", type=int, default=96)
    parser.add_argument("--lr", type=float, default=6e-4)
    parser.add_argument("--workers", type=int, default=0, help="data worker processes (0: render inline)")
    parser.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--init",
        default=None,
        help="continue training from these weights (a demo_model.safetensors of the same width;"
        " the width may split into other heads, and --layers may exceed its depth: the trained"
        " blocks are spread through the deeper model, the new ones start as the identity)",
    )
    parser.add_argument(
        "--scene",
        default="shapes",
        choices=("shapes", "judge"),
        help="training data (judge: the judge model's)",
    )
    parser.add_argument("--image-size", type=int, default=32, help="pixels per side (judge: 64)")
    parser.add_argument("--frames", type=int, default=17, help="latent frames of a full-rate clip")
    parser.add_argument(
        "--teacher",
        default=None,
        help="distil: these weights (with CFG) teach the --init model LTX-2's 8-step schedule without CFG",
    )
    parser.add_argument("--no-preview", action="store_true", help="skip the sample contact sheet")
    return parser


def _train_config(args: argparse.Namespace, device: str) -> TrainConfig:
    """The training run the options ask for; distilling (``--teacher``) learns LTX-2's distilled
    schedule without prompt dropout."""
    from ltx2_efficient.demo.distillation import LTX2_DISTILLED_SIGMAS
    from ltx2_efficient.demo.model import DemoModelConfig
    from ltx2_efficient.demo.trainer import TrainConfig

    model_config = DemoModelConfig(
        image_size=args.image_size,
        frames=args.frames,
        num_layers=args.layers,
        heads=args.heads,
        head_dim=args.head_dim,
        scene=args.scene,
        sigmas=LTX2_DISTILLED_SIGMAS if args.teacher else None,
    )
    return TrainConfig(
        model=model_config,
        teacher_weights=args.teacher,
        prompt_drop=0.0 if args.teacher else TrainConfig.prompt_drop,
        clips_per_batch=args.clips_per_batch,
        learning_rate=args.lr,
        max_steps=args.max_steps,
        time_limit_s=args.time_limit,
        seed=args.seed,
        device=device,
        workers=args.workers,
        out_dir=args.out,
        init_weights=args.init,
    )


def _write_preview(out: Path, device: str) -> None:
    """Samples of the trained (EMA) model as a contact sheet, out/preview.png."""
    from ltx2_efficient.demo.model import load_demo_model
    from ltx2_efficient.demo.training_preview import write_preview

    model = load_demo_model(out / "demo_model.safetensors", device=device)
    write_preview(model, out / "preview.png")
    print(f"wrote {out / 'preview.png'}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
