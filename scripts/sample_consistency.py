#!/usr/bin/env python3
"""Do the demo model's samples keep their object on a continuous path, as the data does?

For each motion class, renders clips of the procedural data and samples the model (the dense
reference sampler) for the same prompts, tracks the object in both (``object_track``: centroid per
frame against the temporal-median background) and counts the clips whose object jumps further
between two frames than it ever does in that class's data clips (plus one pixel), and the clips
where it all but vanishes for a frame. Prints a markdown table; with ``--presets`` the same
prompts and seeds are also sampled through the efficient loop with each preset, one row each.

    PYTHONPATH=python python scripts/sample_consistency.py --seeds 12
    PYTHONPATH=python python scripts/sample_consistency.py --seeds 4 --presets quality,balanced,fast
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
    parser.add_argument(
        "--presets", default="", help="comma-separated presets sampled beside dense (default: none)"
    )
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
    from ltx2_efficient import preset_names

    presets = [p.strip() for p in args.presets.split(",") if p.strip()]
    for name in presets:
        if name not in preset_names() or name == "off":
            allowed = " ".join(n for n in preset_names() if n != "off")
            parser.error(f"--presets must name presets among {allowed}, got '{name}'")
    model = load_demo_model(args.weights)
    cfg = model.config
    started = time.perf_counter()
    print(
        f"weights: {args.weights or 'shipped'}; {args.seeds} clips per class, {args.steps} steps, CFG {args.guidance}\n"
    )

    def dense_video(prompt: DemoPrompt, seed: int) -> np.ndarray:
        shape = cfg.latent_shape(1, cfg.frames)
        latent = sample_reference(
            model,
            initial_noise(shape, seed=seed),
            torch.tensor([prompt.token_ids()]),
            demo_sigmas(args.steps, shape),
            cfg.frame_rate,
            args.guidance,
        )
        return decode(latent.float(), cfg.patch)[0].numpy()

    def preset_video(name: str, prompt: DemoPrompt, seed: int) -> np.ndarray:
        from ltx2_efficient.demo.request import DemoRequest
        from ltx2_efficient.demo.runs import run_settings
        from ltx2_efficient.sampler.settings import EfficientSettings, regime_for

        settings = EfficientSettings.from_preset(name, regime_for(args.steps, args.guidance))
        request = DemoRequest(prompt, seed, args.steps, args.guidance)
        return run_settings(model, request, name, settings).video

    print(
        "| motion | sampler | data: largest jump px | samples: median largest jump px "
        "| samples jumping further | samples with a vanishing frame |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for motion in motions:
        prompts = [
            DemoPrompt(
                motion=motion,
                shape=SHAPES[seed % len(SHAPES)],
                colour=COLOURS[seed % len(COLOURS)],
                background=BACKGROUNDS[(seed // 2) % len(BACKGROUNDS)],
            )
            for seed in range(args.seeds)
        ]
        data_jumps = [
            object_track(make_clip(p, 7000 + i, cfg.frames, cfg.frame_rate, cfg.image_size)[1]).max_jump
            for i, p in enumerate(prompts)
        ]
        limit = max(data_jumps) + 1.0
        for sampler in ["dense", *presets]:
            tracks = [
                object_track(
                    dense_video(p, 7000 + i) if sampler == "dense" else preset_video(sampler, p, 7000 + i)
                )
                for i, p in enumerate(prompts)
            ]
            jumps = [t.max_jump for t in tracks]
            further = sum(j > limit for j in jumps)
            vanished = sum(t.vanished_frames > 0 for t in tracks)
            print(
                f"| {motion} | {sampler} | {max(data_jumps):.1f} | {float(np.median(jumps)):.1f} "
                f"| {further}/{args.seeds} | {vanished}/{args.seeds} |",
                flush=True,
            )
    print(f"\n({time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
