"""``ltx2eff eval --check PRESETS``: the efficiency check on the demo model, one request.

One setting: :func:`efficiency_check` of it against the dense run, its summary printed and its
report written to ``check.json``. Several (comma-separated): :func:`efficiency_sweep` within
``--time-budget`` seconds, the Pareto table printed and written to ``check_sweep.json``. Each
setting is a preset name, optionally followed by knob=value settings (:func:`parse_candidates`,
which the ComfyUI node's sweep input reads too). The output folder is handled like every verb's
(staged, then put in place; nothing on interrupt). This is what the ComfyUI node and
``efficiency_check`` do on a user's model, here on the shipped one.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_TRUE, _FALSE = ("on", "true", "yes", "1"), ("off", "false", "no", "0")


def _knob_value(entry: str, what: str, name: str, raw: str) -> Any:
    """``raw`` as the type of knob ``name`` in the core's knob table (the core checks the range)."""
    from ltx2_efficient.sampler.settings import ALIASES, KNOB_ROWS

    row = next(r for r in KNOB_ROWS if r["name"] == ALIASES.get(name, name))
    kind = row["type"]
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise ValueError(f"{what} entry {entry!r}: {name} takes a number, got {raw!r}") from None
    if kind == "bool":
        if raw.lower() in _TRUE + _FALSE:
            return raw.lower() in _TRUE
        raise ValueError(f"{what} entry {entry!r}: {name} takes on or off, got {raw!r}")
    return raw


def parse_candidates(text: str, base: Any = None, what: str = "--check") -> dict[str, Any]:
    """The settings ``text`` names, label -> ``EfficientSettings`` in order.

    ``text`` holds comma-separated entries; each is a preset name, optionally followed by
    knob=value settings separated by spaces ("fast", "balanced frame_stride=3 reuse_start=0.4").
    With ``base`` (settings), an entry may also be knob=value settings alone, applied on top of
    ``base``. The label of an entry is its text with single spaces. Raises ValueError, prefixed
    with ``what``, naming the bad entry.
    """
    from ltx2_efficient import _core
    from ltx2_efficient.sampler.settings import ALIASES, FIELDS, EfficientSettings

    known = list(_core.preset_names())
    if not isinstance(text, str):
        raise ValueError(f"{what} must be text, got {type(text).__name__}")
    entries = [" ".join(entry.split()) for entry in text.split(",")]
    entries = [entry for entry in entries if entry]
    if not entries:
        raise ValueError(
            f"{what} takes preset names from {', '.join(known)} (each optionally followed by "
            f"knob=value settings), got {text!r}"
        )
    out: dict[str, Any] = {}
    for entry in entries:
        first, *rest = entry.split(" ")
        if "=" in first:
            if base is None:
                raise ValueError(f"{what} entry {entry!r} must start with a preset name ({', '.join(known)})")
            start, pairs = base, [first, *rest]
        elif first in known:
            start, pairs = EfficientSettings.from_preset(first), rest
        else:
            raise ValueError(
                f"{what} takes preset names from {', '.join(known)} (each optionally followed by "
                f"knob=value settings), got {first!r} in {entry!r}"
            )
        overrides: dict[str, Any] = {}
        for pair in pairs:
            name, sep, raw = pair.partition("=")
            if not sep or not name or not raw:
                raise ValueError(f"{what} entry {entry!r}: {pair!r} is not a knob=value setting")
            if name not in FIELDS and name not in ALIASES:
                raise ValueError(
                    f"{what} entry {entry!r}: unknown knob {name!r} (knobs: {', '.join(FIELDS)})"
                )
            overrides[name] = _knob_value(entry, what, name, raw)
        try:
            settings = start.with_overrides(**overrides)
        except ValueError as error:
            raise ValueError(f"{what} entry {entry!r}: {error}") from None
        if entry in out:
            raise ValueError(f"{what} names {entry!r} twice")
        out[entry] = settings
    return out


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
    candidates: dict[str, Any]  # label -> EfficientSettings
    request: Any  # DemoRequest
    time_budget_s: float


def check_args(args: Any) -> CheckArgs:
    """``--check`` and ``--time-budget`` validated (no torch); the first eval request."""
    from ltx2_efficient.eval.check_report import positive_seconds
    from ltx2_efficient.eval.cli import requests_for

    candidates = parse_candidates(args.check)
    budget = positive_seconds("--time-budget", args.time_budget)
    steps = 20 if args.steps is None else args.steps
    guidance = 3.0 if args.guidance is None else args.guidance
    return CheckArgs(candidates, requests_for(1, steps, guidance)[0], budget)


def run_check(checked: CheckArgs, out_dir: Path) -> str:
    """The check (one preset) or the sweep (several), written into ``out_dir``."""
    from ltx2_efficient.hosts.ltx_core import efficiency_check, efficiency_sweep

    request = checked.request
    model, inputs = demo_request(request)
    print(f"request: {request.prompt.text()} (seed {request.seed}), {request.steps} steps", file=sys.stderr)
    if len(checked.candidates) == 1:
        (settings,) = checked.candidates.values()
        check = efficiency_check(model.transformer, settings=settings, **inputs)
        print(check.summary())
        (out_dir / "check.json").write_text(check.to_json() + "\n")
        return "check.json"
    sweep = efficiency_sweep(
        model.transformer, candidates=checked.candidates, time_budget_s=checked.time_budget_s, **inputs
    )
    print(sweep.table)
    if sweep.skipped:
        predicted = ", ".join(f"{label} ({sweep.predicted_s[label]:.1f} s)" for label in sweep.skipped)
        print(f"left out, predicted not to fit the time budget of {checked.time_budget_s:g} s: {predicted}")
    dense = sweep.dense.timing if sweep.dense is not None else None
    body = {"request": {"prompt": request.prompt.text(), "seed": request.seed, "steps": request.steps},
            "time_budget_s": checked.time_budget_s, "dense": dense, "skipped": sweep.skipped,
            "predicted_s": sweep.predicted_s, "rows": sweep.rows}  # fmt: skip
    (out_dir / "check_sweep.json").write_text(json.dumps(body, indent=2, allow_nan=False) + "\n")
    return "check_sweep.json"
