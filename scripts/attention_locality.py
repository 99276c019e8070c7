#!/usr/bin/env python3
"""Measures where a demo model's self-attention goes during dense sampling.

    PYTHONPATH=python python scripts/attention_locality.py --out OUT [--weights W] [--requests 2]

Runs the dense reference sampler (Euler, CFG) on eval requests and observes every block's
self-attention on a sample of query tokens at every step (``demo/attention_locality.py``).
Writes OUT/locality.json (the joint frame x spatial distance histogram per step, block and head,
and uniform attention's) and OUT/locality.md (the tables: share within +-K frames per block, per
step and per head, spatial reach, 3D tiles, spatial and temporal heads). Needs no compiled core.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import types
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from ltx2_efficient.demo.attention_locality import LocalityResult, TokenGrid
    from ltx2_efficient.demo.model import DemoModel
    from ltx2_efficient.demo.prompt import DemoPrompt

REPO = Path(__file__).resolve().parents[1]


def _import_demo_without_core() -> None:
    try:
        import ltx2_efficient  # noqa: F401
    except ImportError:
        package = types.ModuleType("ltx2_efficient")
        package.__path__ = [str(REPO / "python" / "ltx2_efficient")]
        sys.modules["ltx2_efficient"] = package


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _import_demo_without_core()
    if args.from_json:
        return _rerender(Path(args.from_json), Path(args.out), args.compact)

    from ltx2_efficient.demo.locality_report import locality_markdown
    from ltx2_efficient.demo.model import load_demo_model, shipped_weights
    from ltx2_efficient.demo.reference_sampler import model_sigmas
    from ltx2_efficient.eval.cli import EVAL_PROMPTS

    if not 1 <= args.requests <= len(EVAL_PROMPTS):
        raise SystemExit(f"--requests must be in [1, {len(EVAL_PROMPTS)}], got {args.requests}")
    weights = Path(args.weights) if args.weights else shipped_weights(args.model or "demo")
    model = load_demo_model(weights, device=args.device)
    config = model.config
    shape = config.latent_shape(1)
    if config.sigmas is not None:  # a distilled model: its own schedule, no guidance
        args.steps, args.guidance = len(config.sigmas) - 1, 1.0
    sigmas = model_sigmas(config, args.steps, shape)
    started = time.perf_counter()
    result, prompts = _observe_requests(model, shape, sigmas, args, started)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    header = {
        "weights": weights.name,
        "config": json.loads(config.to_json()),
        "requests": prompts,
        "steps": args.steps,
        "guidance": args.guidance,
        "sigmas": [round(float(s), 5) for s in sigmas],
        "queries_per_frame": args.queries_per_frame,
        "wall_s": round(time.perf_counter() - started, 1),
    }
    (out / "locality.json").write_text(json.dumps({**header, **result.to_json()}) + "\n")
    (out / "locality.md").write_text(locality_markdown(result, header))
    if args.compact:
        _write_compact(result, header, out)
    print((out / "locality.md").read_text())
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="attention-locality", help="output folder")
    parser.add_argument("--weights", default=None, help="demo model weights (default: the shipped model)")
    parser.add_argument("--model", default=None, help="a shipped model by name (demo, judge)")
    parser.add_argument("--requests", type=int, default=2, help="eval requests to run (default: 2)")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--guidance", type=float, default=3.0)
    parser.add_argument("--queries-per-frame", type=int, default=16, help="observed queries per frame")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--from-json",
        default=None,
        help="re-render the tables of a saved locality.json to --out (no sampling)",
    )
    parser.add_argument(
        "--compact",
        action="store_true",
        help="also write locality_compact.json: the frame- and space-distance marginals per step,"
        " block and head, and the joint histogram per block and head (mean over steps)",
    )
    return parser


def _observe_requests(
    model: DemoModel,
    shape: tuple[int, ...],
    sigmas: torch.Tensor,
    args: argparse.Namespace,
    started: float,
) -> tuple[LocalityResult, list[dict[str, object]]]:
    """Samples the first ``args.requests`` eval prompts (seeds 100, 101, ...) while observing the
    attention; returns the mean over requests and the prompts run."""
    from ltx2_efficient.demo.attention_locality import LocalityResult, TokenGrid
    from ltx2_efficient.demo.prompt import DemoPrompt
    from ltx2_efficient.eval.cli import EVAL_PROMPTS

    config = model.config
    grid = TokenGrid(config.frames, config.grid, config.grid)
    results = []
    prompts = []
    for i in range(args.requests):
        prompt = DemoPrompt.parse(EVAL_PROMPTS[i])
        prompts.append({"prompt": prompt.text(), "seed": 100 + i})
        results.append(_observe_request(model, shape, sigmas, prompt, i, grid, args))
        print(
            f"request {i + 1}/{args.requests} ({prompt.text()}) done, {time.perf_counter() - started:.0f} s"
        )
    return LocalityResult.mean(results), prompts


def _observe_request(
    model: DemoModel,
    shape: tuple[int, ...],
    sigmas: torch.Tensor,
    prompt: DemoPrompt,
    i: int,
    grid: TokenGrid,
    args: argparse.Namespace,
) -> LocalityResult:
    """One dense reference sampling of ``prompt`` (seed 100 + i), its attention recorded per step."""
    import torch

    from ltx2_efficient.demo.attention_locality import LocalityRecorder, observing
    from ltx2_efficient.demo.reference_sampler import initial_noise, sample_reference

    config = model.config
    recorder = LocalityRecorder(
        grid, config.num_layers, config.heads, args.steps, args.queries_per_frame, seed=i
    )

    def advance(done: int, _total: int) -> None:
        recorder.step = min(done, args.steps - 1)

    with observing(model.transformer, recorder), torch.no_grad():
        sample_reference(
            model,
            initial_noise(shape, 100 + i),
            torch.tensor([prompt.token_ids()]),
            sigmas,
            config.frame_rate,
            args.guidance,
            on_step=advance,
        )
    return recorder.result(args.steps)


def _rerender(saved: Path, out: Path, compact: bool) -> int:
    from ltx2_efficient.demo.attention_locality import LocalityResult
    from ltx2_efficient.demo.locality_report import locality_markdown

    data = json.loads(saved.read_text())
    result = LocalityResult.from_json(data)
    header = {k: v for k, v in data.items() if k not in ("mass", "uniform")}
    out.mkdir(parents=True, exist_ok=True)
    (out / "locality.md").write_text(locality_markdown(result, header))
    if compact:
        _write_compact(result, header, out)
    print((out / "locality.md").read_text())
    return 0


def _write_compact(result, header: dict, out: Path) -> None:  # noqa: ANN001 - a LocalityResult
    compact = {
        **header,
        "axes": {
            "frame_mass": "[step, block, head, frame distance]",
            "space_mass": "[step, block, head, Chebyshev distance in tokens, any frame]",
            "joint_mass": "[block, head, frame distance, Chebyshev distance] (mean over steps)",
            "uniform": "[frame distance, Chebyshev distance]: uniform attention's shares",
        },
        "frame_mass": result.mass.sum(axis=-1).round(5).tolist(),
        "space_mass": result.mass.sum(axis=-2).round(5).tolist(),
        "joint_mass": result.mass.mean(axis=0).round(6).tolist(),
        "uniform": result.uniform.round(6).tolist(),
    }
    (out / "locality_compact.json").write_text(json.dumps(compact) + "\n")


if __name__ == "__main__":
    sys.exit(main())
