# Shared setup for scripts/*.sh: system packages, a reusable virtualenv outside the clone, the
# package built from this checkout. Every step is idempotent and skips work already done.
# shellcheck shell=bash

LTX2EFF_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LTX2EFF_VENV="${LTX2EFF_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/ltx2eff/venv}"
LTX2EFF_TORCH_SPEC="${LTX2EFF_TORCH_SPEC:-torch==2.13.0}"
LTX_CORE_SPEC="ltx-core==1.0.0"

log() { printf '\033[1m[ltx2eff]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    log "need root for: $*"; return 1
  fi
}

# Debian packages, installed only when a tool is missing. Arguments: "command:package" pairs,
# or "file:/path:package" for libraries.
ensure_system_packages() {
  local missing=() item cmd pkg path
  for item in "$@"; do
    if [[ "$item" == file:* ]]; then
      path="${item#file:}"; pkg="${path##*:}"; path="${path%:*}"
      [ -e "$path" ] || missing+=("$pkg")
    else
      cmd="${item%%:*}"; pkg="${item#*:}"
      command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null; then
    log "missing system packages: ${missing[*]} (install them with your package manager)"
    return 1
  fi
  log "installing system packages: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}" >/dev/null
}

ensure_build_tools() {
  ensure_system_packages "cmake:cmake" "ninja:ninja-build" "g++:g++" \
    "file:/usr/include/gtest/gtest.h:libgtest-dev" "clang-format:clang-format"
}

# The venv lives outside the clone so CI and later runs reuse it.
ensure_venv() {
  if [ ! -x "$LTX2EFF_VENV/bin/python" ]; then
    log "creating virtualenv $LTX2EFF_VENV"
    mkdir -p "$(dirname "$LTX2EFF_VENV")"
    python3 -m venv "$LTX2EFF_VENV"
  fi
  PY="$LTX2EFF_VENV/bin/python"
  export PATH="$LTX2EFF_VENV/bin:$PATH"
  local stamp="$LTX2EFF_VENV/.ltx2eff-deps" want
  want="$(cat "$LTX2EFF_ROOT/scripts/requirements-dev.txt") $LTX2EFF_TORCH_SPEC $LTX_CORE_SPEC"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    log "installing Python dependencies into the virtualenv"
    "$PY" -m pip install -q --upgrade pip
    # torch only when absent: never replace a torch the environment already has.
    "$PY" -c "import torch" 2>/dev/null || "$PY" -m pip install -q "$LTX2EFF_TORCH_SPEC"
    "$PY" -m pip install -q -r "$LTX2EFF_ROOT/scripts/requirements-dev.txt"
    # ltx-core's declared dependencies (torchaudio, transformers, ...) would pull another torch;
    # the transformer model needs none of them.
    "$PY" -m pip install -q --no-deps "$LTX_CORE_SPEC"
    printf '%s' "$want" >"$stamp"
  fi
}

# Builds and installs the package from this checkout. Extra -C options may be passed.
install_package() {
  log "building and installing ltx2-efficient from $LTX2EFF_ROOT"
  "$PY" -m pip install -q --no-build-isolation --no-deps "$@" "$LTX2EFF_ROOT"
}

# PATH without any directory that holds nvcc: a machine with no CUDA toolkit.
path_without_cuda() {
  local out="" dir
  IFS=':' read -ra dirs <<<"$PATH"
  for dir in "${dirs[@]}"; do
    [ -x "$dir/nvcc" ] && continue
    out="${out:+$out:}$dir"
  done
  printf '%s' "$out"
}
