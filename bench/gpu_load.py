"""A sustained GPU load for a fixed time: bf16 matrix products in synchronised steps; prints the
steps per second it managed. Used to try ``ltx2eff thermal hold`` on a GPU:

    ltx2eff thermal hold --power 0.6 -- python bench/gpu_load.py --seconds 20
"""

from __future__ import annotations

import argparse
import time

import torch


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=20.0, help="how long to run")
    p.add_argument("--size", type=int, default=8192, help="matrix size")
    p.add_argument("--matmuls", type=int, default=24, help="products per synchronised step")
    args = p.parse_args()
    a = torch.randn(args.size, args.size, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(args.size, args.size, device="cuda", dtype=torch.bfloat16)
    c = torch.empty_like(a)
    steps = 0
    start = time.monotonic()
    while time.monotonic() - start < args.seconds:
        for _ in range(args.matmuls):
            torch.matmul(a, b, out=c)
        torch.cuda.synchronize()
        steps += 1
    elapsed = time.monotonic() - start
    tflops = 2.0 * args.size**3 * args.matmuls * steps / elapsed / 1e12
    print(f"gpu_load: {steps / elapsed:.2f} steps/s, {tflops:.0f} TFLOP/s over {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
