#!/usr/bin/env bash
# Frame-parallel scaling on a machine with several GPUs: 1, 2 and 4 GPUs (as many as there are),
# window K=1/2 and the dense all-gather baseline; prints the table. NVLink multicast stays off.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
out="${OUT:-.}/frame_parallel.jsonl"
: >"$out"
gpus=$(python3 -c 'import torch; print(torch.cuda.device_count())')
for n in 1 2 4; do
  [ "$n" -le "$gpus" ] || break
  torchrun --nproc-per-node "$n" bench/frame_parallel.py --out "$out" "$@"
done
python3 bench/frame_parallel.py --table "$out" | tee "${OUT:-.}/frame_parallel_table.md"
