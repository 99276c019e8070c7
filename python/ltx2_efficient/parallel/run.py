"""Frame-parallel sampling of the demo model on N processes, launched with torchrun.

    torchrun --nproc-per-node 2 -m ltx2_efficient.parallel.run --window 1 --steps 8 --check

Every rank runs the same Euler loop with classifier-free guidance (the demo's reference loop) on
the same seed; the transformer runs frame-parallel (``FrameParallelModel``), so each rank computes
its own latent frames and exchanges only the K/V halos. NCCL on GPUs (one per rank, by
LOCAL_RANK), gloo on the CPU. Rank 0 prints the split, the bytes each rank received per model
call, the time, and with ``--check`` the largest difference from the same loop run in one process
with single-process window attention (``--out`` saves the latent).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist

from ltx2_efficient import _core


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ltx2_efficient.parallel.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--window", type=int, default=1, help="temporal window K (-1 = dense, all-gather)")
    parser.add_argument("--anchor", action="store_true", help="frame 0 visible to every query frame")
    parser.add_argument("--steps", type=int, default=8, help="sampling steps, in [1, 200]")
    parser.add_argument("--guidance", type=float, default=3.0, help="CFG scale, in [1, 20]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--prompt", default="red circle bounce plain")
    parser.add_argument("--check", action="store_true", help="compare with the one-process result")
    parser.add_argument("--out", type=Path, default=None, help="where rank 0 saves the latent (.pt)")
    parser.add_argument("--json", type=Path, default=None, help="where rank 0 writes the summary")
    args = parser.parse_args(argv)
    try:
        _core.check_knob("window", args.window)
    except ValueError as error:  # the core's message names the knob and its range
        parser.error(f"--{error}")
    if not 1 <= args.steps <= 200:
        parser.error(f"--steps must be in [1, 200], got {args.steps}")
    if not 1.0 <= args.guidance <= 20.0:
        parser.error(f"--guidance must be in [1, 20], got {args.guidance}")
    return args


def init_distributed() -> torch.device:
    """Initialises the process group from torchrun's environment; returns this rank's device."""
    for name in ("RANK", "WORLD_SIZE"):
        if name not in os.environ:
            raise SystemExit(f"{name} is not set: launch with torchrun (see --help)")
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        dist.init_process_group("nccl", device_id=torch.device("cuda", local))
        return torch.device("cuda", local)
    dist.init_process_group("gloo")
    return torch.device("cpu")


def sample(args: argparse.Namespace, device: torch.device, *, parallel: bool) -> tuple[torch.Tensor, dict]:
    from ltx2_efficient.demo.model import load_demo_model
    from ltx2_efficient.demo.prompt import DemoPrompt
    from ltx2_efficient.demo.reference_sampler import demo_sigmas, initial_noise, sample_reference
    from ltx2_efficient.hosts.ltx_core import apply_efficient
    from ltx2_efficient.parallel.sequence_parallel import FrameParallelModel
    from ltx2_efficient.sampler.settings import EfficientSettings

    model = load_demo_model(device=device)
    shape = model.config.latent_shape(1)
    ids = torch.tensor([DemoPrompt.parse(args.prompt).token_ids()])
    noise, sigmas = initial_noise(shape, args.seed), demo_sigmas(args.steps, shape)
    stats: dict = {}
    start = time.perf_counter()
    if parallel:
        wrapped = FrameParallelModel(model.transformer, window=args.window, anchor_frame=args.anchor)
        model.transformer = wrapped
        latent = sample_reference(model, noise, ids, sigmas, model.config.frame_rate, args.guidance)
        calls = max(wrapped.stats.calls // len(wrapped._video), 1)
        stats = {"bytes_per_call": wrapped.stats.total_bytes / calls, "halo_bytes": wrapped.stats.halo_bytes}
        model.transformer = wrapped.unwrap()
    else:
        settings = EfficientSettings.from_preset("off", window=args.window, anchor_frame=args.anchor)
        with apply_efficient(model.transformer, settings):
            latent = sample_reference(model, noise, ids, sigmas, model.config.frame_rate, args.guidance)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    stats["seconds"] = time.perf_counter() - start
    return latent.cpu(), stats


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = init_distributed()
    rank, world = dist.get_rank(), dist.get_world_size()
    latent, stats = sample(args, device, parallel=True)
    gathered: list[dict] = [{} for _ in range(world)]
    dist.all_gather_object(gathered, stats)
    summary: dict = {"ranks": world, "window": args.window, "anchor": args.anchor, "steps": args.steps}
    if rank == 0:
        summary["per_rank"] = gathered
        if args.check:
            single, single_stats = sample(args, device, parallel=False)
            diff = (latent - single).abs().max().item()
            summary.update(max_abs_diff=diff, single_seconds=single_stats["seconds"])
        print(json.dumps(summary, indent=1))
        if args.out is not None:
            torch.save(latent, args.out)
        if args.json is not None:
            args.json.write_text(json.dumps(summary, indent=1) + "\n")
    dist.barrier()
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())
