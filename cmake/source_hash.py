"""The fingerprint of the sources an ltx2-efficient build compiles and packages.

cmake/SourceHash.cmake runs this at every configure and installs the result next to the compiled
module as ``ltx2_efficient/_source_hash.txt``, so every wheel and every source install says
which sources it was built from. install.py computes the same value for the pack it runs in and
reinstalls when the installed one differs: a pack update that keeps the version number still
replaces the compiled code. Standard library only, since it runs inside the build's isolated
environment as well as in ComfyUI's Python.

The value is a SHA-256 over the sorted relative paths and contents of the build inputs below, with
CRLF read as LF (a Windows checkout with git's autocrlf has the same sources as the Linux one the
wheels were built from). Build outputs and caches inside those folders are left out.

usage: python source_hash.py [PACK_DIR]    (prints the hash; PACK_DIR defaults to this file's pack)
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

INPUTS = ("CMakeLists.txt", "pyproject.toml", "cmake", "cpp", "python")
SKIP_DIRS = {"build", "wheelhouse", "node_modules", "__pycache__"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".so", ".pyd", ".dll", ".dylib")
INSTALLED_NAME = "_source_hash.txt"


def _skip_dir(name: str) -> bool:
    return name in SKIP_DIRS or name.startswith(".") or name.endswith(".egg-info")


def input_files(pack: Path) -> list[str]:
    """The build inputs under `pack`, as sorted POSIX paths relative to it."""
    found = []
    for entry in INPUTS:
        top = pack / entry
        if top.is_file():
            found.append(entry)
            continue
        for folder, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if not _skip_dir(d)]
            rel = Path(folder).relative_to(pack).as_posix()
            found.extend(f"{rel}/{name}" for name in files if not name.endswith(SKIP_SUFFIXES))
    return sorted(found)


def source_hash(pack: Path) -> str:
    digest = hashlib.sha256()
    for rel in input_files(pack):
        data = (pack / rel).read_bytes().replace(b"\r\n", b"\n")
        digest.update(rel.encode("utf-8") + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


if __name__ == "__main__":
    pack = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]
    print(source_hash(pack.resolve()))
