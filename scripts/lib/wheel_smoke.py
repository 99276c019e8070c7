"""Smoke test of an installed ltx2-efficient, run from outside the source tree.

Checks that the package imports from the environment (not from a checkout), reports the
expected version, records the hash of the sources it was built from (install.py compares it with
the pack's; cmake/source_hash.py), that the ``ltx2eff`` command installed next to this Python
plans a request, and that one CPU window-attention call on numpy arrays matches a float64
reference. Used by scripts/build_wheels.sh on every wheel and by scripts/test.sh's wheel stage.

usage: python wheel_smoke.py EXPECTED_VERSION [EXPECTED_SOURCE_HASH]
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np


def reference_attention(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Dense softmax attention in float64, [B, heads, T, D]."""
    q64, k64, v64 = (x.astype(np.float64) for x in (q, k, v))
    logits = q64 @ k64.transpose(0, 1, 3, 2) / math.sqrt(q.shape[-1])
    logits -= logits.max(axis=-1, keepdims=True)
    weights = np.exp(logits)
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights @ v64


def check_attention(core: object) -> float:
    """Window K >= F-1 is dense attention: compare the CPU kernel with the reference."""
    rng = np.random.default_rng(int.from_bytes(os.urandom(4), "little"))
    frames, height, width = 3, 2, 4
    shape = (1, 2, frames * height * width, 16)
    q, k, v = (rng.standard_normal(shape).astype(np.float32) for _ in range(3))
    out = np.zeros_like(q)
    backend = core.window_attention(q, k, v, out, grid=(frames, height, width), window=frames - 1)
    assert backend == "cpu", backend
    error = float(np.abs(out - reference_attention(q, k, v)).max())
    assert error < 1e-4, f"CPU attention differs from the float64 reference by {error}"
    return error


def main(argv: list[str]) -> int:
    expected = argv[0] if argv else None
    expected_sources = argv[1] if len(argv) > 1 else None
    import ltx2_efficient
    from ltx2_efficient import _core

    where = Path(ltx2_efficient.__file__).resolve()
    assert "site-packages" in where.parts, f"ltx2_efficient imported from {where}, not an installed copy"
    assert expected is None or ltx2_efficient.__version__ == expected, (ltx2_efficient.__version__, expected)
    recorded = Path(_core.__file__).with_name("_source_hash.txt")
    assert recorded.is_file(), (
        f"no {recorded.name} next to {_core.__file__}: install.py cannot tell its sources"
    )
    sources = recorded.read_text(encoding="utf-8").strip()
    assert expected_sources is None or sources == expected_sources, (sources, expected_sources)
    cli = shutil.which("ltx2eff", path=str(Path(sys.executable).parent))
    assert cli is not None, f"no ltx2eff command next to {sys.executable}"
    plan = subprocess.run(
        [cli, "plan", "--width", "1280", "--height", "704", "--frames", "121", "--preset", "balanced"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "14,080 per call" in plan, plan
    error = check_attention(_core)
    info = ltx2_efficient.build_info()
    kernels = ", ".join(info["cuda_architectures"]) or "CPU only"
    print(
        f"wheel OK: ltx2_efficient {ltx2_efficient.__version__} from {where.parent}; "
        f"sources {sources[:12]}; plan OK; CPU attention max error {error:.1e}; kernels: {kernels}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
