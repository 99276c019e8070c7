#!/usr/bin/env bash
# One device run for the CUDA attention kernels: build the package for this GPU, check the kernels
# against float64 (Hopper kernel and portable kernel), then benchmark, most important rows first.
#   BUDGET_S=400 bash bench/device_attention.sh     (logs and JSON go to $OUT)
# BUDGET_S bounds the whole run: below 300 s the checks use the quick matrix, and later steps and
# benchmark phases are skipped when it runs out.
set -uo pipefail
OUT=${OUT:-/tmp/ltx2eff-device}
BUDGET_S=${BUDGET_S:-400}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
start=$(date +%s)
elapsed() { echo $(( $(date +%s) - start )); }
stamp() { echo "[$(elapsed)s] $*"; }
left() { echo $(( BUDGET_S - $(elapsed) )); }

# The optional in-place path of the frame-batched attention needs cuDNN's Python graph API:
# install its wheel when one was carried in (the machine has no network).
for wheel in ${WHEELS_DIR:-.whl}/nvidia_cudnn_frontend-*.whl; do
  [[ -f $wheel ]] && python3 -m pip install -q --no-deps --no-index "$wheel"
done
arch=$(python3 -c "import torch; a, b = torch.cuda.get_device_capability(); print(f'{a}{b}')")
stamp "device: $(nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader); sm_${arch}"
if ! python3 -m pip install -q --no-build-isolation --no-deps . -Cbuild-dir=build/device \
    -Ccmake.define.CMAKE_CUDA_ARCHITECTURES="${arch}-real" -Ccmake.define.LTX2EFF_CUDA=ON \
    -Ccmake.define.CMAKE_CUDA_FLAGS="-Xptxas=-v" -Cbuild.verbose=true >"$OUT/build.log" 2>&1; then
  tail -40 "$OUT/build.log"
  exit 1
fi
stamp "built: $(python3 -c 'import ltx2_efficient as l; print("CUDA kernels", l.built_with_cuda)')"
status=0
matrix=--quick  # the full correctness matrix when the budget allows it
(( BUDGET_S >= 300 )) && matrix=
python3 bench/attention_check.py $matrix --json "$OUT/check_auto.json" >"$OUT/check_auto.log" 2>&1 || status=1
grep -E "^FAIL|passed|Error|error" "$OUT/check_auto.log" | head -30
stamp "checked (default kernel)"
if [[ $status == 0 ]] && (( $(left) > 45 )); then
  python3 bench/attention.py --reps 30 --deadline $(( $(left) - 40 )) --json "$OUT/bench.json" >"$OUT/bench.log" 2>&1 || status=1
  stamp "benchmarked"
  grep -A60 "^device:" "$OUT/bench.log"
fi
if (( $(left) > 25 )); then
  python3 bench/attention_check.py --kernel mma $matrix >"$OUT/check_mma.log" 2>&1 || status=1
  grep -E "^FAIL|passed" "$OUT/check_mma.log" | head -20
  stamp "checked (mma.sync kernel)"
fi
if [[ $status == 0 ]] && (( $(left) > 15 )); then
  LTX2EFF_CUDA_ATTENTION_KERNEL=mma python3 bench/attention.py --ours-only --reps 20 \
    --json "$OUT/bench_mma.json" >"$OUT/bench_mma.log" 2>&1 || status=1
  grep -E "ours|dense SDPA" "$OUT/bench_mma.log" | tail -14
fi
stamp "done (status $status)"
exit $status
