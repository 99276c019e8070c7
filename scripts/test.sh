#!/usr/bin/env bash
# Sets up everything the tests need (idempotent) and runs every test:
#   1. the package built with CUDA when a toolkit is present (warnings as errors), ctest + pytest;
#   2. the same core built with the CUDA toolkit hidden, as users without one build it, ctest;
#   3. the node panel: vitest, bundle freshness, end-to-end in Chromium against the real frontend;
#   4. ruff and clang-format;
#   5. a binary wheel (CPU kernels) installed the way ComfyUI-Manager installs the pack, through
#      install.py, into a clean virtualenv with no compiler on PATH, and smoke-tested from there;
#   6. the core and its C++ tests under AddressSanitizer + UndefinedBehaviorSanitizer (CPU only),
#      when the compiler has them.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"
cd "$LTX2EFF_ROOT"

ensure_build_tools
ensure_venv
export CMAKE_BUILD_PARALLEL_LEVEL="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc 2>/dev/null || echo 2)}"
# CI compiles the kernels for every architecture a release ships ("release" is
# cmake/CudaArchitectures.cmake's list), so a kernel that breaks on any of them fails here.
CUDA_ARCHS="${LTX2EFF_TEST_CUDA_ARCHS:-release}"

# Builds one wheel with scripts/build_wheels.sh (which checks it in a fresh venv), then runs
# install.py with only a new venv's bin/ on PATH (no compiler, no cmake) and the wheel folder as
# the release's wheelhouse, and the smoke test from outside the checkout.
wheel_stage() {
  local house="$LTX2EFF_ROOT/build/ci-wheelhouse" venv="$LTX2EFF_ROOT/build/ci-pack-venv" base out
  rm -rf "$house" "$venv"
  "$LTX2EFF_ROOT/scripts/build_wheels.sh" --cpu-only --python "$PY" --out "$house"
  base="$("$PY" -c 'import sys; print(sys._base_executable)')"
  "$base" -m venv "$venv"
  out="$(cd /tmp && env -u CXX -u CC -u CUDACXX PATH="$venv/bin" LTX2EFF_WHEELHOUSE="$house" \
    "$venv/bin/python" "$LTX2EFF_ROOT/install.py" 2>&1)" || { printf '%s\n' "$out"; return 1; }
  printf '%s\n' "$out"
  grep -q "installing ltx2_efficient-.*\.whl from $house" <<<"$out" ||
    { log "install.py did not take the wheel from the wheelhouse"; return 1; }
  (cd /tmp && PATH="$venv/bin" "$venv/bin/python" "$LTX2EFF_ROOT/scripts/lib/wheel_smoke.py" \
    "$(sed -n 's/^version = "\(.*\)"$/\1/p' "$LTX2EFF_ROOT/pyproject.toml" | head -1)")
}

log "1/6 package build (CUDA if available), C++ tests, Python tests"
install_package -Cbuild-dir=build/test-main \
  -Ccmake.define.LTX2EFF_BUILD_TESTS=ON -Ccmake.define.LTX2EFF_WERROR=ON \
  "-Ccmake.define.CMAKE_CUDA_ARCHITECTURES=$CUDA_ARCHS"
ctest --test-dir build/test-main --output-on-failure -j "$CMAKE_BUILD_PARALLEL_LEVEL"
"$PY" -m pytest -q tests

log "2/6 build with the CUDA toolkit hidden"
(
  export PATH="$(path_without_cuda)"
  unset CUDACXX CUDA_PATH CUDA_HOME CUDAToolkit_ROOT
  cmake -S . -B build/test-nocuda -G Ninja -DLTX2EFF_BUILD_TESTS=ON -DLTX2EFF_WERROR=ON \
    -DLTX2EFF_BUILD_PYTHON=ON -DPython_EXECUTABLE="$PY" >build/test-nocuda.log 2>&1 ||
    { cat build/test-nocuda.log; exit 1; }
  grep -q "no CUDA toolkit found" build/test-nocuda.log ||
    { log "the CUDA toolkit was not hidden"; exit 1; }
  cmake --build build/test-nocuda
  ctest --test-dir build/test-nocuda --output-on-failure -j "$CMAKE_BUILD_PARALLEL_LEVEL"
  LTX2EFF_CORE_PATH="$(ls build/test-nocuda/cpp/bindings/_core*.so build/test-nocuda/cpp/bindings/_core*.pyd 2>/dev/null | head -1)" \
    "$PY" "$LTX2EFF_ROOT/scripts/lib/check_core_module.py"
)

log "3/6 frontend"
PY="$PY" "$LTX2EFF_ROOT/scripts/test_frontend.sh"

log "4/6 lint"
"$PY" -m ruff check python tests bench scripts __init__.py install.py
"$PY" -m ruff format --check python tests bench scripts __init__.py install.py
find cpp -name '*.cpp' -o -name '*.hpp' -o -name '*.cu' -o -name '*.cuh' | xargs clang-format --dry-run -Werror

log "5/6 wheel installed through install.py without a compiler"
wheel_stage

# The core (no CUDA, no Python module, no CLI) and its GoogleTest binary, built and run with
# ASan + UBSan: any report fails the stage. Skipped, saying so, where the toolchain has no
# sanitizer runtime.
sanitizer_stage() {
  local probe
  probe="$(mktemp -d)"
  printf 'int main() { return 0; }\n' >"$probe/probe.cpp"
  if ! c++ -fsanitize=address,undefined "$probe/probe.cpp" -o "$probe/probe" >/dev/null 2>&1 ||
    ! "$probe/probe"; then
    rm -rf "$probe"
    log "6/6 sanitizers: skipped (this compiler has no ASan/UBSan runtime)"
    return 0
  fi
  rm -rf "$probe"
  log "6/6 core and C++ tests under ASan + UBSan"
  local flags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
  cmake -S . -B build/test-sanitizers -G Ninja -DCMAKE_BUILD_TYPE=Debug -DLTX2EFF_CUDA=OFF \
    -DLTX2EFF_BUILD_PYTHON=OFF -DLTX2EFF_BUILD_CLI=OFF -DLTX2EFF_BUILD_TESTS=ON \
    "-DCMAKE_CXX_FLAGS=$flags" "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined" \
    >build/test-sanitizers.log 2>&1 || { cat build/test-sanitizers.log; return 1; }
  cmake --build build/test-sanitizers --target ltx2eff_tests
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    build/test-sanitizers/cpp/tests/ltx2eff_tests --gtest_brief=1
}
sanitizer_stage

log "all tests passed"
