#!/usr/bin/env bash
# Sets up the environment (idempotent) and runs the main job: `ltx2eff demo`, the embedded demo
# model generated densely and with each preset on the CPU, with a report of speed against
# fidelity in ./ltx2eff-demo. Arguments are passed to the command.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"
cd "$LTX2EFF_ROOT"
ensure_system_packages "cmake:cmake" "ninja:ninja-build" "g++:g++"
ensure_venv
install_package
"$LTX2EFF_VENV/bin/ltx2eff" demo "$@"
