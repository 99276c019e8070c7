#!/usr/bin/env bash
# Tests of the node panel (frontend/ -> web/), idempotent and non-interactive:
#   1. Node packages from frontend/package-lock.json (`npm ci`, only when the lockfile changed);
#   2. type check against @comfyorg/comfyui-frontend-types, vitest (components, extension glue);
#   3. the committed bundle in web/ is what the sources build to (rebuild + byte compare);
#   4. end-to-end: Debian's Chromium (installed when /usr/bin/chromium is missing) drives the real
#      ComfyUI frontend (PyPI comfyui-frontend-package) served by tests/frontend_server.py.
# Python: $PY, a Python with this package, aiohttp and comfyui-frontend-package installed
# (scripts/requirements-dev.txt); default: the project's virtualenv. Screenshots go to
# build/artifacts/; LTX2EFF_E2E_DOCS_SCREENSHOT=1 also refreshes docs/frontend-panel.png.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/env.sh"
cd "$LTX2EFF_ROOT/frontend"

PY="${PY:-$LTX2EFF_VENV/bin/python}"
if ! "$PY" -c "import ltx2_efficient, aiohttp, comfyui_frontend_package" 2>/dev/null; then
  log "PY=$PY cannot import ltx2_efficient, aiohttp and comfyui_frontend_package:"
  log "install the package and scripts/requirements-dev.txt into it first (./scripts/test.sh does)"
  exit 1
fi

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  log "Node.js 20.19 or newer with npm is needed for the frontend tests"
  exit 1
fi
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  log "Node.js $(node --version) is too old for Vite 7: 20.19 or newer is needed"
  exit 1
fi

# npm ci only when the lockfile differs from the one node_modules was installed from.
lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp="node_modules/.ltx2eff-lock-sha256"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  log "installing Node packages from frontend/package-lock.json"
  npm ci --no-audit --no-fund --loglevel=error
  printf '%s' "$lock_sum" >"$stamp"
fi

log "frontend 1/4 type check"
npx --no-install vue-tsc --noEmit

log "frontend 2/4 unit tests (vitest)"
npx --no-install vitest run

log "frontend 3/4 the committed bundle in web/ is up to date"
node scripts/check-bundle.mjs

log "frontend 4/4 end-to-end test in Chromium against the real ComfyUI frontend"
ensure_system_packages "file:/usr/bin/chromium:chromium"
PY="$PY" CHROMIUM=/usr/bin/chromium LTX2EFF_E2E_ARTIFACTS="$LTX2EFF_ROOT/build/artifacts" node e2e/panel.e2e.mjs
