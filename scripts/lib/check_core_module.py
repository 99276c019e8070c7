"""Loads a freshly built ``_core`` module from a path and checks that it plans a request.

Used by scripts/test.sh for the build made with the CUDA toolkit hidden.
"""

from __future__ import annotations

import importlib.util
import os
import sys


def main() -> int:
    path = os.environ["LTX2EFF_CORE_PATH"]
    spec = importlib.util.spec_from_file_location("_core", path)
    if spec is None or spec.loader is None:
        print(f"cannot load {path}", file=sys.stderr)
        return 1
    core = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(core)
    plan = core.make_plan(core.PixelShape(1280, 704, 121, 24.0), core.resolve_preset("balanced"))
    assert plan.latent.tokens == 14080, plan.latent.tokens
    assert core.built_with_cuda is False, "module built without a toolkit claims CUDA"
    print(f"CPU-only module OK: {plan.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
