"""One rank of the frame-parallel checks (run by tests/test_frame_parallel.py, gloo on the CPU).

    python tests/frame_parallel_worker.py RANK WORLD INIT_FILE OUT_DIR

Every rank builds the same random inputs, computes the single-process result itself, runs the
frame-parallel version on its own share and writes the largest difference per case to
OUT_DIR/rank<R>.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from ltx_core.components.patchifiers import AudioPatchifier
from ltx_core.model.transformer.modality import Modality
from ltx_core.model.transformer.model import LTXModel, LTXModelType
from ltx_core.tools import AudioLatentTools
from ltx_core.types import AudioLatentShape

from ltx2_efficient.hosts.ltx_core import apply_efficient
from ltx2_efficient.hosts.ltx_core.positions import video_positions
from ltx2_efficient.parallel.frame_attention import FrameParallelSelfAttention
from ltx2_efficient.parallel.rank_layout import rank_layout
from ltx2_efficient.parallel.sequence_parallel import FrameParallelModel
from ltx2_efficient.sampler.settings import EfficientSettings
from ltx2_efficient.torch_glue.attention import window_attention

HEADS, D = 2, 8
ATTENTION_CASES = [  # (grid, global tokens, window, anchor)
    ((7, 3, 4), 0, 1, False),
    ((7, 3, 4), 3, 1, True),
    ((9, 2, 3), 2, 2, False),
    ((9, 2, 3), 0, 0, True),
    ((5, 2, 2), 1, 3, False),
    ((6, 2, 2), 2, -1, False),
    ((11, 2, 2), 0, 1, True),
]


def attention_case(
    grid: tuple[int, int, int], g: int, window: int, anchor: bool, world: int, rank: int
) -> float:
    tokens = grid[0] * grid[1] * grid[2] + g
    gen = torch.Generator().manual_seed(hash((grid, g, window, anchor)) % 2**31)
    q, k, v = (torch.randn(2, tokens, HEADS * D, generator=gen) for _ in range(3))
    heads = [t.view(2, tokens, HEADS, D).transpose(1, 2) for t in (q, k, v)]
    want = window_attention(*heads, grid=grid, window=window, global_tokens=g, anchor_frame=anchor)
    want = want.transpose(1, 2).reshape(2, tokens, HEADS * D)
    layout = rank_layout(grid, g, window=window, anchor_frame=anchor, ranks=world, rank=rank)
    index = layout.token_index()
    fn = FrameParallelSelfAttention(window=window, anchor_frame=anchor)
    fn.set_layout(layout)
    got = fn(q[:, index], k[:, index], v[:, index], HEADS)
    return float((got - want[:, index]).abs().max())


def tiny_model(kind: LTXModelType) -> LTXModel:
    model = LTXModel(
        model_type=kind,
        num_attention_heads=2,
        attention_head_dim=16,
        in_channels=8,
        out_channels=8,
        num_layers=2,
        cross_attention_dim=32,
        audio_num_attention_heads=2,
        audio_attention_head_dim=16,
        audio_in_channels=8,
        audio_out_channels=8,
        audio_cross_attention_dim=32,
    )
    gen = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    return model.eval()


def modalities(kind: LTXModelType, grid: tuple[int, int, int]) -> tuple[Modality, Modality | None]:
    gen = torch.Generator().manual_seed(11)
    f, h, w = grid
    tokens = f * h * w
    sigma = torch.tensor([0.6])
    video = Modality(
        latent=torch.randn(1, tokens, 8, generator=gen),
        sigma=sigma,
        timesteps=sigma[:, None].expand(1, tokens),
        positions=video_positions(1, grid, 24.0),
        context=torch.randn(1, 5, 32, generator=gen),
    )
    if kind != LTXModelType.AudioVideo:
        return video, None
    latent = torch.randn(1, 2, 20, 4, generator=gen)  # [B, C, T, M]: 8 channels per audio token
    tools = AudioLatentTools(AudioPatchifier(1), AudioLatentShape.from_torch_shape(latent.shape))
    state = tools.create_initial_state("cpu", latent.dtype, initial_latent=latent)
    audio = Modality(
        latent=state.latent,
        sigma=sigma,
        timesteps=state.denoise_mask * sigma,
        positions=state.positions,
        context=torch.randn(1, 5, 32, generator=gen),
    )
    return video, audio


def model_case(kind: LTXModelType, window: int, anchor: bool) -> float:
    model = tiny_model(kind)
    video, audio = modalities(kind, (7, 3, 4))
    settings = EfficientSettings.from_preset("off", window=window, anchor_frame=anchor)
    with torch.no_grad(), apply_efficient(model, settings):
        want_v, want_a = model(video, audio, None)
    wrapped = FrameParallelModel(model, window=window, anchor_frame=anchor)
    with torch.no_grad():
        got_v, got_a = wrapped(video, audio, None)
    wrapped.unwrap()
    diff = float((got_v - want_v).abs().max())
    if want_a is not None:
        diff = max(diff, float((got_a - want_a).abs().max()))
    return diff


def main() -> None:
    rank, world, init_file, out_dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], Path(sys.argv[4])
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    torch.manual_seed(0)
    results: dict[str, float] = {}
    for case in ATTENTION_CASES:
        if case[0][0] >= world:
            results[f"attention {case}"] = attention_case(*case, world=world, rank=rank)
    for kind in (LTXModelType.VideoOnly, LTXModelType.AudioVideo):
        for window, anchor in ((1, False), (1, True), (-1, False)):
            results[f"model {kind.name} K={window} anchor={anchor}"] = model_case(kind, window, anchor)
    (out_dir / f"rank{rank}.json").write_text(json.dumps(results))
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
