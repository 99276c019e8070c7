#!/usr/bin/env bash
# One device call for the step-phased techniques: builds this checkout (C++ core without CUDA
# kernels: windows run as frame-batched SDPA), runs `ltx2eff eval --grid phased` with the demo
# model on the GPU in both regimes, then bench/e2e.py's per-call costs of every call kind of the
# step schedule on the 19B audio-video model beside the cost model. Writes under $OUT.
set -uo pipefail
export PYTHONUNBUFFERED=1 CMAKE_BUILD_PARALLEL_LEVEL=16
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/ltx_core-*.whl
export PYTHONPATH=/tmp/site
python3 -m pip install -q --no-build-isolation --no-deps -Cbuild-dir=build/device-cpu \
  -Ccmake.define.LTX2EFF_CUDA=OFF . 2>&1 | tail -3
nvidia-smi --query-gpu=name,driver_version,power.limit --format=csv
out="${OUT:-build/device-phased}"
mkdir -p "$out/dev" "$out/distilled" "$out/e2e"
timeout "${EVAL_DEV_S:-170}" python3 -m ltx2_efficient eval --grid phased --device cuda --seeds 4 \
  --regime dev --out "$out/dev" 2>&1 | tail -4
timeout "${EVAL_DISTILLED_S:-80}" python3 -m ltx2_efficient eval --grid phased --device cuda \
  --seeds 4 --regime distilled --out "$out/distilled" 2>&1 | tail -4
python3 bench/e2e.py --out "$out/e2e" --steps "${E2E_STEPS:-3}" --time-budget "${E2E_S:-150}" \
  --runs "1280x704x121:dense,keyframes-s2,keyframes-s3,window-k1,window,keyframes-s4" \
  "1920x1088x121:dense,keyframes-s2,window-k1,keyframes-s3" 2>&1 | tail -25
