"""Scaling benchmark of frame-parallel sampling: 1 vs N GPUs, window K vs the all-gather baseline.

Launched once per GPU count with torchrun (bench/device_frame_parallel.sh runs 1, 2 and 4):

    torchrun --nproc-per-node 2 bench/frame_parallel.py --out results.jsonl
    python bench/frame_parallel.py --table results.jsonl

Each launch builds ltx-core's LTX-2 audio-video model with random weights on every GPU (bench/e2e.py's
configuration; ``--blocks`` fewer for a quick look, times then scale by 48 / blocks) and times a
CFG step (a batch of 2) at every size for window K = 1 and 2 (halo exchange) and for dense
attention exchanged as an all-gather of K/V, which is what sequence parallelism without a window
has to move. Rank 0 appends one JSON line per run: seconds per step (median of ``--repeats``),
bytes each rank received per step (halos, anchor, cross-rank partials, the output gather).
``--table`` prints time, speedup over one GPU, ideal (N x), bytes against the all-gather
baseline, and the device name. ``--tiny`` runs a tiny model on the CPU with gloo (a smoke test).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).parent))
import e2e

SIZES = {"1920x1088x121": (1920, 1088, 121), "1280x704x257": (1280, 704, 257)}
CONFIGS = {"window K=1": 1, "window K=2": 2, "dense all-gather": -1}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--blocks", type=int, default=48)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tiny", action="store_true", help="tiny model on the CPU (gloo)")
    parser.add_argument("--out", type=Path, help="JSON lines file rank 0 appends to")
    parser.add_argument("--table", type=Path, help="print the table of a results file and exit")
    args = parser.parse_args(argv)
    if not 1 <= args.blocks <= 48:
        parser.error(f"--blocks must be in [1, 48], got {args.blocks}")
    if not 1 <= args.repeats <= 100:
        parser.error(f"--repeats must be in [1, 100], got {args.repeats}")
    return args


def modalities(inputs: dict, dims: e2e.Dims, device: torch.device, dtype: torch.dtype) -> tuple:
    from ltx_core.components.patchifiers import AudioPatchifier
    from ltx_core.model.transformer.modality import Modality
    from ltx_core.tools import AudioLatentTools
    from ltx_core.types import AudioLatentShape

    from ltx2_efficient.hosts.ltx_core.positions import video_positions

    video = inputs["video"]
    b, c, f, h, w = video.shape
    sigma = torch.full((2,), 0.7, device=device)
    tokens = video.permute(0, 2, 3, 4, 1).reshape(b, f * h * w, c).expand(2, -1, -1).contiguous()
    context = torch.cat((inputs["context"], inputs["negative"]))
    v = Modality(
        latent=tokens,
        sigma=sigma,
        timesteps=sigma[:, None].expand(2, f * h * w),
        positions=video_positions(2, (f, h, w), e2e.FPS, device=device),
        context=context,
    )
    audio = inputs["audio"]
    latent = torch.cat((audio.latent, audio.latent))
    tools = AudioLatentTools(AudioPatchifier(1), AudioLatentShape.from_torch_shape(latent.shape))
    state = tools.create_initial_state(device, dtype, initial_latent=latent)
    a = Modality(
        latent=state.latent,
        sigma=sigma,
        timesteps=state.denoise_mask * sigma[:, None, None],
        positions=state.positions,
        context=torch.cat((audio.context, audio.negative_context)),
    )
    return v, a


def time_step(
    model: torch.nn.Module, video: object, audio: object, device: torch.device, repeats: int
) -> float:
    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        dist.barrier()

    with torch.no_grad():
        model(video, audio, None)  # warm-up (and the autotuner's first call of a shape)
        times = []
        for _ in range(repeats):
            sync()
            start = time.perf_counter()
            model(video, audio, None)
            sync()
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(args: argparse.Namespace) -> None:
    from ltx2_efficient.parallel.sequence_parallel import FrameParallelModel

    cuda = torch.cuda.is_available() and not args.tiny
    if cuda:
        local = int(__import__("os").environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        dist.init_process_group("nccl", device_id=torch.device("cuda", local))
        device, dtype = torch.device("cuda", local), torch.bfloat16
    else:
        dist.init_process_group("gloo")
        device, dtype = torch.device("cpu"), torch.float32
    world, rank = dist.get_world_size(), dist.get_rank()
    dims = e2e.Dims.tiny() if args.tiny else e2e.Dims(blocks=args.blocks)
    model = e2e.build_model(dims, device, dtype)
    name = torch.cuda.get_device_name(device) if cuda else "CPU (gloo)"
    sizes = {"tiny 256x128x33": (256, 128, 33)} if args.tiny else {s: SIZES[s] for s in args.sizes}
    for size_name, size in sizes.items():
        video, audio = modalities(e2e.make_inputs(size, dims, device, dtype, seed=0), dims, device, dtype)
        for config, window in CONFIGS.items():
            wrapped = FrameParallelModel(model, window=window)
            seconds = time_step(wrapped, video, audio, device, args.repeats)
            calls = max(wrapped.stats.calls // len(wrapped._video), 1)
            received = torch.tensor([wrapped.stats.total_bytes / calls], dtype=torch.float64)
            wrapped.unwrap()
            gathered = [torch.zeros(1, dtype=torch.float64) for _ in range(world)]
            dist.all_gather(gathered, received)
            row = {
                "device": name,
                "gpus": world,
                "size": size_name,
                "config": config,
                "blocks": dims.blocks,
                "seconds_per_step": seconds * 48 / dims.blocks if not args.tiny else seconds,
                "bytes_per_step": float(sum(t.item() for t in gathered)),
            }
            if rank == 0:
                print(json.dumps(row), flush=True)
                if args.out is not None:
                    with args.out.open("a") as fh:
                        fh.write(json.dumps(row) + "\n")
    dist.barrier()
    dist.destroy_process_group()


def table(path: Path) -> str:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    one = {(r["size"], r["config"]): r["seconds_per_step"] for r in rows if r["gpus"] == 1}
    gather = {(r["size"], r["gpus"]): r["bytes_per_step"] for r in rows if r["config"] == "dense all-gather"}
    lines = [
        f"device: {rows[0]['device'] if rows else '-'}",
        "| size | config | GPUs | s / step | speedup vs 1 GPU | ideal | MB exchanged / step | vs all-gather |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in sorted(rows, key=lambda r: (r["size"], r["config"], r["gpus"])):
        base = one.get((r["size"], r["config"]))
        speed = f"{base / r['seconds_per_step']:.2f}x" if base else "-"
        ag = gather.get((r["size"], r["gpus"]))
        ratio = f"{r['bytes_per_step'] / ag:.3f}" if ag else "-"
        lines.append(
            f"| {r['size']} | {r['config']} | {r['gpus']} | {r['seconds_per_step']:.3f} | {speed} | "
            f"{r['gpus']:.2f}x | {r['bytes_per_step'] / 2**20:.1f} | {ratio} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.table is not None:
        print(table(args.table))
        return 0
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
