"""The committed node-panel bundle in web/ matches the frontend sources it was built from.

The bundle's first line carries the sha256 of its sources (frontend/scripts/source-hash.mjs
writes it at build time); this recomputes it by the same rule, so editing a source without
rebuilding fails here, without Node. scripts/test_frontend.sh also rebuilds and compares bytes.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
FRONTEND = REPO_ROOT / "frontend"
WEB = REPO_ROOT / "web"
BUNDLE = WEB / "ltx2eff_panel.js"
# Keep in step with HASHED_ROOTS in frontend/scripts/source-hash.mjs.
HASHED_ROOTS = (
    "src",
    "package.json",
    "package-lock.json",
    "tsconfig.json",
    "vite.config.ts",
    "scripts/source-hash.mjs",
)


def source_hash() -> str:
    files: list[str] = []
    for entry in HASHED_ROOTS:
        path = FRONTEND / entry
        if path.is_dir():
            files += [p.relative_to(FRONTEND).as_posix() for p in path.rglob("*") if p.is_file()]
        else:
            files.append(entry)
    outer = hashlib.sha256()
    for name in sorted(files):
        inner = hashlib.sha256((FRONTEND / name).read_bytes()).hexdigest()
        outer.update(f"{name}\0{inner}\n".encode())
    return outer.hexdigest()


def test_hashed_roots_match_the_build_script():
    script = (FRONTEND / "scripts" / "source-hash.mjs").read_text()
    block = script[script.index("HASHED_ROOTS = [") : script.index("]", script.index("HASHED_ROOTS = ["))]
    assert tuple(re.findall(r"'([^']+)'", block)) == HASHED_ROOTS


def test_bundle_was_built_from_the_current_sources():
    first_line = BUNDLE.read_text(encoding="utf-8").split("\n", 1)[0]
    match = re.search(r"sources-sha256: ([0-9a-f]{64})", first_line)
    assert match, f"{BUNDLE} has no source hash in its first line"
    assert match.group(1) == source_hash(), (
        "web/ltx2eff_panel.js is stale: run `npm ci && npm run build` in frontend/ and commit web/"
    )


def test_web_directory_holds_only_the_bundle():
    # ComfyUI loads every .js file under WEB_DIRECTORY as an extension.
    assert sorted(p.name for p in WEB.rglob("*") if p.is_file()) == [BUNDLE.name]


def test_bundle_imports_only_the_hosts_app_module():
    code = BUNDLE.read_text(encoding="utf-8")
    static = re.findall(r"""(?:^|[;}\s])import\s*(?:[\w*{}\s,$]+from\s*)?["']([^"']+)["']""", code)
    assert static == ["../../scripts/app.js"]
    assert not re.search(r"""\bimport\(\s*["']""", code), "the bundle must not load other files"
    assert "process.env" not in code  # Vue's build flags were replaced at build time
