#!/usr/bin/env bash
# One device stage of the judge model: install the carried ltx-core wheel (.whl/), train (or
# distil) for TIME_S seconds from INIT, then measure the attention locality of the result.
#   STAGE=1 TIME_S=420 LR=6e-4 bash bench/device_judge.sh
#   STAGE=2 TIME_S=240 LR=3e-4 INIT=w.safetensors DISTILL_S=150 bash bench/device_judge.sh
# Outputs in $OUT: log, judge_model.safetensors, loss_stage<N>.csv,
# preview_stage<N>.png, locality.json (and judge_distilled.safetensors, loss_distill.csv,
# preview_distill.png, locality_distilled.json).
# The summaries are printed (they go to the log).
set -euo pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp/judge-out}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/ltx_core-*.whl
export PYTHONPATH=/tmp/site:python
nvidia-smi --query-gpu=name,driver_version,power.limit,clocks.max.sm --format=csv,noheader
MODEL=(--scene judge --image-size 64 --frames 17 --layers "${LAYERS:-8}" --heads 6 --head-dim 32)
INIT_ARGS=()
[[ -n ${INIT:-} ]] && INIT_ARGS=(--init "$INIT")
python3 scripts/train_demo_model.py --out /tmp/stage "${MODEL[@]}" "${INIT_ARGS[@]}" \
  --time-limit "$TIME_S" --lr "${LR:-6e-4}" --clips-per-batch "${CLIPS:-24}" --workers 6
cp /tmp/stage/demo_model.safetensors "$OUT/judge_model.safetensors"
cp /tmp/stage/loss.csv "$OUT/loss_stage$STAGE.csv"
cat /tmp/stage/summary.json
cp /tmp/stage/preview.png "$OUT/preview_stage$STAGE.png"
if [[ -n ${DISTILL_S:-} ]]; then
  python3 scripts/train_demo_model.py --out /tmp/distill "${MODEL[@]}" --init /tmp/stage/demo_model.safetensors \
    --teacher /tmp/stage/demo_model.safetensors --time-limit "$DISTILL_S" --lr "${DISTILL_LR:-2e-4}" \
    --clips-per-batch "${DISTILL_CLIPS:-16}" --workers 6
  cp /tmp/distill/demo_model.safetensors "$OUT/judge_distilled.safetensors"
  cp /tmp/distill/loss.csv "$OUT/loss_distill.csv"
  cp /tmp/distill/preview.png "$OUT/preview_distill.png"
  cat /tmp/distill/summary.json
  python3 scripts/attention_locality.py --weights /tmp/distill/demo_model.safetensors --out /tmp/loc_distill \
    --requests "${LOC_REQUESTS:-4}" --device cuda >/tmp/loc_distill.log
  cp /tmp/loc_distill/locality.json "$OUT/locality_distilled.json"
fi
python3 scripts/attention_locality.py --weights /tmp/stage/demo_model.safetensors --out /tmp/loc \
  --requests "${LOC_REQUESTS:-4}" --device cuda >/tmp/loc.log
cp /tmp/loc/locality.json "$OUT/"
echo "done"
