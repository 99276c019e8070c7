"""``ltx2eff eval --check PRESETS``: the efficiency check on the demo model, one request.

One preset: :func:`efficiency_check` of it against the dense run, its summary printed and its
report written to ``check.json``. Several (comma-separated): :func:`efficiency_sweep` within
``--time-budget`` seconds, the Pareto table printed and written to ``check_sweep.json``. The
output folder is handled like every verb's (staged, then put in place; nothing on interrupt). This is
what the ComfyUI node and ``efficiency_check`` do on a user's model, here on the shipped one.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
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
    from ltx2_efficient.demo.reference_sampler import initial_noise, model_sigmas

    model = load_demo_model(device="cpu")
    shape = model.config.latent_shape(1)
    ids = torch.tensor([request.prompt.token_ids()])
    with torch.inference_mode():
        context, negative = model.context(ids), model.context(torch.zeros_like(ids))
    inputs = {
        "video_latent": initial_noise(shape, request.seed),
        "sigmas": model_sigmas(model.config, request.steps, shape),
        "context": context,
        "frame_rate": model.config.frame_rate,
        "negative_context": negative,
        "cfg_scale": request.guidance,
        "seed": request.seed + 1,
        "decode_video": lambda latent: decode(latent.float(), model.config.patch),
    }
    return model, inputs


@dataclass(frozen=True)
class CheckArgs:
    presets: list[str]
    request: Any  # DemoRequest
    time_budget_s: float


def check_args(args: Any) -> CheckArgs:
    """``--check`` and ``--time-budget`` validated (no torch); the first eval request."""
    from ltx2_efficient.eval.cli import requests_for

    presets = parse_presets(args.check)
    budget = args.time_budget
    if not (isinstance(budget, (int, float)) and budget > 0):
        raise ValueError(f"--time-budget must be a positive number of seconds, got {budget:g}")
    steps = 20 if args.steps is None else args.steps
    guidance = 3.0 if args.guidance is None else args.guidance
    return CheckArgs(presets, requests_for(1, steps, guidance)[0], float(budget))


def run_check(checked: CheckArgs, out_dir: Path) -> str:
    """The check (one preset) or the sweep (several), written into ``out_dir``."""
    from ltx2_efficient.hosts.ltx_core import efficiency_check, efficiency_sweep
    from ltx2_efficient.sampler.settings import EfficientSettings

    request = checked.request
    model, inputs = demo_request(request)
    print(f"request: {request.prompt.text()} (seed {request.seed}), {request.steps} steps", file=sys.stderr)
    if len(checked.presets) == 1:
        settings = EfficientSettings.from_preset(checked.presets[0])
        check = efficiency_check(model.transformer, settings=settings, **inputs)
        print(check.summary())
        (out_dir / "check.json").write_text(check.to_json() + "\n")
        return "check.json"
    candidates = {f"preset {name}": EfficientSettings.from_preset(name) for name in checked.presets}
    sweep = efficiency_sweep(
        model.transformer, candidates=candidates, time_budget_s=checked.time_budget_s, **inputs
    )
    print(sweep.table)
    if sweep.skipped:
        print(f"left out (time budget {checked.time_budget_s:g} s): {', '.join(sweep.skipped)}")
    body = {"request": {"prompt": request.prompt.text(), "seed": request.seed, "steps": request.steps},
            "time_budget_s": checked.time_budget_s, "skipped": sweep.skipped, "rows": sweep.rows}  # fmt: skip
    (out_dir / "check_sweep.json").write_text(json.dumps(body, indent=2, allow_nan=False) + "\n")
    return "check_sweep.json"
