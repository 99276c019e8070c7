#!/usr/bin/env bash
# Device run of the low-VRAM matrix (bench/e2e.py --matrix): the 19B model's blocks streamed from
# pinned host memory under 8 and 12 GiB caps, dense vs window attention alone vs each preset's
# schedule, 30 CFG steps and 8 steps, then the longest 1280x704 clip that fits each cap. Installs
# the carried ltx-core wheel (.whl/), builds this checkout for the GPU at hand and keeps the whole
# call within LTX2EFF_CALL_SECONDS (default 540): rows that would not finish in time are listed as
# skipped; a later call with `--resume <its e2e.json>` runs them. Arguments go to bench/e2e.py.
set -euo pipefail
export PYTHONUNBUFFERED=1
call_seconds="${LTX2EFF_CALL_SECONDS:-540}"
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/ltx_core-*.whl
export PYTHONPATH=/tmp/site
arch="$(python3 -c 'import torch; m, n = torch.cuda.get_device_capability(); print(f"{m}{n}-real")')"
python3 -m pip install -q --no-build-isolation --no-deps -Cbuild-dir=build/device-e2e \
  "-Ccmake.define.CMAKE_CUDA_ARCHITECTURES=$arch" . 2>&1 | tail -5
nvidia-smi --query-gpu=name,driver_version,memory.total,power.limit --format=csv
free -g | head -2
out="${OUT:-build}/lowvram"
# What is left of the call after the setup, less a margin for the last row's overrun and the copy-back.
budget=$((call_seconds - SECONDS - 45))
echo "setup took ${SECONDS} s; time budget for the runs: ${budget} s"
python3 bench/e2e.py --matrix --memory-cap-gb 8 12 --time-budget "$budget" --out "$out" "$@"
