#!/usr/bin/env python3
"""Do the demo model's samples keep their object on a continuous path, as the data does?

For each motion class, renders clips of the procedural data and samples the model (the dense
reference sampler) for the same prompts, tracks the object in both (``object_track``: centroid per
frame against the temporal-median background) and counts the clips whose object jumps further
between two frames than it ever does in that class's data clips (plus one pixel), and the clips
where it all but vanishes for a frame. Prints a markdown table.

    PYTHONPATH=python python scripts/sample_consistency.py --seeds 12
    PYTHONPATH=python python scripts/sample_consistency.py --weights other.safetensors --motions bounce
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COLOURS = ("green", "red", "blue", "yellow", "cyan", "orange", "magenta", "white")
BACKGROUNDS = ("plain", "vertical-gradient", "horizontal-gradient", "radial-gradient")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--weights", type=Path, default=None, help="demo model weights (default: shipped)")
    parser.add_argument("--motions", default="bounce,fall,orbit,pan", help="comma-separated motion classes")
    parser.add_argument("--seeds", type=int, default=12, help="clips per motion class")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--guidance", type=float, default=3.0)
    args = parser.parse_args(argv)
    if not 1 <= args.seeds <= 1000:
        parser.error(f"--seeds must be in [1, 1000], got {args.seeds}")
    sys.path.insert(0, str(REPO / "python"))
    import numpy as np
    import torch

    from ltx2_efficient.demo.clips import make_clip
    from ltx2_efficient.demo.latent_codec import decode
    from ltx2_efficient.demo.model import load_demo_model
    from ltx2_efficient.demo.prompt import MOTIONS, SHAPES, DemoPrompt
    from ltx2_efficient.demo.reference_sampler import demo_sigmas, initial_noise, sample_reference
    from ltx2_efficient.eval.metrics import object_track

    motions = [m.strip() for m in args.motions.split(",") if m.strip()]
    for m in motions:
        if m not in MOTIONS:
            parser.error(f"--motions must name classes among {' '.join(MOTIONS)}, got '{m}'")
    model = load_demo_model(args.weights)
    cfg = model.config
    started = time.perf_counter()
    print(
        f"weights: {args.weights or 'shipped'}; {args.seeds} clips per class, {args.steps} steps, CFG {args.guidance}\n"
    )
    print(
        "| motion | data: largest jump px | samples: median largest jump px | samples jumping further | samples with a vanishing frame |"
    )
    print("|---|---:|---:|---:|---:|")
    for motion in motions:
        data_jumps, sample_jumps, vanished = [], [], 0
        for seed in range(args.seeds):
            prompt = DemoPrompt(
                motion=motion,
                shape=SHAPES[seed % len(SHAPES)],
                colour=COLOURS[seed % len(COLOURS)],
                background=BACKGROUNDS[(seed // 2) % len(BACKGROUNDS)],
            )
            _, pixels = make_clip(prompt, 7000 + seed, cfg.frames, cfg.frame_rate, cfg.image_size)
            data_jumps.append(object_track(pixels).max_jump)
            shape = cfg.latent_shape(1, cfg.frames)
            latent = sample_reference(
                model,
                initial_noise(shape, seed=7000 + seed),
                torch.tensor([prompt.token_ids()]),
                demo_sigmas(args.steps, shape),
                cfg.frame_rate,
                args.guidance,
            )
            track = object_track(decode(latent.float(), cfg.patch)[0].numpy())
            sample_jumps.append(track.max_jump)
            vanished += track.vanished_frames > 0
        limit = max(data_jumps) + 1.0
        further = sum(j > limit for j in sample_jumps)
        print(
            f"| {motion} | {max(data_jumps):.1f} | {float(np.median(sample_jumps)):.1f} "
            f"| {further}/{args.seeds} | {vanished}/{args.seeds} |",
            flush=True,
        )
    print(f"\n({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
