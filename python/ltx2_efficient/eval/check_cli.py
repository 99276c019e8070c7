"""``ltx2eff eval --check PRESETS``: the efficiency check on the demo model, one request.

One preset: :func:`efficiency_check` of it against the dense run, its summary printed and its
report written to ``check.json``. Several (comma-separated): :func:`efficiency_sweep` within
``--time-budget`` seconds, the Pareto table printed and written to ``check_sweep.json``. This is
what the ComfyUI node and ``efficiency_check`` do on a user's model, here on the shipped one.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any


def parse_presets(text: str) -> list[str]:
    """Comma-separated preset names, each one the core knows."""
    from ltx2_efficient import _core

    names = [name.strip() for name in text.split(",") if name.strip()]
    known = list(_core.preset_names())
    bad = [name for name in names if name not in known]
    if not names or bad:
        raise ValueError(f"--check takes preset names from {', '.join(known)}, got {text!r}")
    return names


def demo_request(request: Any) -> tuple[Any, dict[str, Any]]:
    """The demo model and ``efficiency_check``'s inputs for one eval request."""
    import torch

    from ltx2_efficient.demo.latent_codec import decode
    from ltx2_efficient.demo.model import load_demo_model
    from ltx2_efficient.demo.reference_sampler import demo_sigmas, initial_noise

    model = load_demo_model(device="cpu")
    shape = model.config.latent_shape(1)
    ids = torch.tensor([request.prompt.token_ids()])
    with torch.inference_mode():
        context, negative = model.context(ids), model.context(torch.zeros_like(ids))
    inputs = {
        "video_latent": initial_noise(shape, request.seed),
        "sigmas": demo_sigmas(request.steps, shape),
        "context": context,
        "frame_rate": model.config.frame_rate,
        "negative_context": negative,
        "cfg_scale": request.guidance,
        "seed": request.seed + 1,
        "decode_video": lambda latent: decode(latent.float(), model.config.patch),
    }
    return model, inputs


def run_check(presets: list[str], request: Any, out_dir: Path, time_budget_s: float) -> int:
    from ltx2_efficient.hosts.ltx_core import efficiency_check, efficiency_sweep
    from ltx2_efficient.sampler.settings import EfficientSettings

    model, inputs = demo_request(request)
    print(f"request: {request.prompt.text()} (seed {request.seed}), {request.steps} steps", file=sys.stderr)
    if len(presets) == 1:
        check = efficiency_check(
            model.transformer, settings=EfficientSettings.from_preset(presets[0]), **inputs
        )
        print(check.summary())
        _write_atomic(out_dir / "check.json", check.to_json() + "\n")
        print(f"wrote {out_dir}/check.json")
        return 0
    candidates = {f"preset {name}": EfficientSettings.from_preset(name) for name in presets}
    sweep = efficiency_sweep(model.transformer, candidates=candidates, time_budget_s=time_budget_s, **inputs)
    print(sweep.table)
    if sweep.skipped:
        print(f"left out (time budget {time_budget_s:g} s): {', '.join(sweep.skipped)}")
    body = {"request": {"prompt": request.prompt.text(), "seed": request.seed, "steps": request.steps},
            "time_budget_s": time_budget_s, "skipped": sweep.skipped, "rows": sweep.rows}  # fmt: skip
    _write_atomic(out_dir / "check_sweep.json", json.dumps(body, indent=2, allow_nan=False) + "\n")
    print(f"wrote {out_dir}/check_sweep.json")
    return 0


def _write_atomic(path: Path, text: str) -> None:
    """Writes through a temporary file in the same folder, so a cancelled run leaves no half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
