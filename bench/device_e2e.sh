#!/usr/bin/env bash
# Device run of bench/e2e.py: installs the carried ltx-core wheel (.whl/), builds this checkout
# for the GPU at hand, then runs the end-to-end plan. Arguments go to bench/e2e.py.
set -euo pipefail
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/ltx_core-*.whl
export PYTHONPATH=/tmp/site
# Optional: the cuDNN frontend's graph API, for the in-place frame-batched attention.
for wheel in .whl/nvidia_cudnn_frontend-*.whl; do
  if [[ -f $wheel ]]; then python3 -m pip install -q --no-index --no-deps "$wheel"; fi
done
arch="$(python3 -c 'import torch; m, n = torch.cuda.get_device_capability(); print(f"{m}{n}-real")')"
python3 -m pip install -q --no-build-isolation --no-deps -Cbuild-dir=build/device-e2e \
  "-Ccmake.define.CMAKE_CUDA_ARCHITECTURES=$arch" . 2>&1 | tail -5
nvidia-smi --query-gpu=name,driver_version,power.limit,clocks.max.sm --format=csv
python3 bench/e2e.py --out "${OUT:-build/e2e}" "$@"
