"""``ltx2eff info``'s Python part: the package, its compiled core and torch in this environment.

The C++ command prints what the core was built with and the GPUs it sees, then runs this
(``python -m ltx2_efficient info [--json]``) for what only Python knows.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import sys
from pathlib import Path
from typing import Any


def _torch_facts() -> dict[str, Any]:
    if importlib.util.find_spec("torch") is None:
        return {"installed": False}
    import torch

    cuda_available = bool(torch.cuda.is_available())
    facts: dict[str, Any] = {
        "installed": True,
        "version": str(torch.__version__),
        "cuda_runtime": torch.version.cuda,
        "cuda_available": cuda_available,
        "devices": [],
    }
    if cuda_available:
        for index in range(torch.cuda.device_count()):
            major, minor = torch.cuda.get_device_capability(index)
            facts["devices"].append(
                {"index": index, "name": torch.cuda.get_device_name(index), "arch": f"sm_{major}{minor}"}
            )
    return facts


def collect() -> dict[str, Any]:
    """Everything the Python side reports, as plain data."""
    import ltx2_efficient
    from ltx2_efficient import _core

    return {
        "python": sys.executable,
        "python_version": platform.python_version(),
        "package": ltx2_efficient.__version__,
        "package_dir": str(Path(ltx2_efficient.__file__).parent),
        "core_module": str(Path(_core.__file__)),
        "torch": _torch_facts(),
        "cudnn_frontend": importlib.util.find_spec("cudnn") is not None,
    }


def _torch_line(torch: dict[str, Any]) -> str:
    if not torch["installed"]:
        return "torch: not installed here (the ComfyUI nodes and window_attention need it; ComfyUI brings its own)"
    cuda = "no CUDA" if torch["cuda_runtime"] is None else f"CUDA {torch['cuda_runtime']}"
    gpus = ", ".join(f"{d['name']} ({d['arch']})" for d in torch["devices"]) or "no GPU visible"
    return f"torch: {torch['version']} ({cuda}; {gpus})"


def format_text(facts: dict[str, Any]) -> str:
    lines = [
        f"Python: {facts['python']} ({facts['python_version']})",
        f"package: ltx2_efficient {facts['package']} in {facts['package_dir']}",
        _torch_line(facts["torch"]),
        "cuDNN frontend: " + ("installed" if facts["cudnn_frontend"] else "not installed (optional)"),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print("usage: python -m ltx2_efficient info [--json]   (ltx2eff info prints the whole report)")
        return 0
    unknown = [a for a in argv if a != "--json"]
    if unknown:
        print(f"ltx2eff info: unknown option {unknown[0]!r} (allowed: --json)", file=sys.stderr)
        return 2
    facts = collect()
    sys.stdout.write(json.dumps(facts) + "\n" if "--json" in argv else format_text(facts))
    return 0
