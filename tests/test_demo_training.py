"""The demo training loop: a few CPU steps of a one-block model learn on a fixed batch."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ltx2_efficient.demo.flow_matching import noised, sample_training_sigmas, shift_sigma, token_shift
from ltx2_efficient.demo.model import DemoModelConfig, load_demo_model
from ltx2_efficient.demo.trainer import TrainConfig, train

REPO = Path(__file__).resolve().parents[1]
TINY = DemoModelConfig(frames=5, num_layers=1, heads=2, head_dim=16)


def test_three_steps_on_a_fixed_batch_lower_the_loss(tmp_path):
    config = TrainConfig(
        model=TINY,
        clips_per_batch=2,
        learning_rate=3e-3,
        warmup_steps=1,
        prompt_drop=0.0,
        attribute_drop=0.0,
        max_steps=3,
        time_limit_s=120.0,
        device="cpu",
        fixed_batch=True,
        log_every=1,
        out_dir=str(tmp_path),
    )
    result = train(config)
    assert result.steps == 3
    assert all(math.isfinite(x) for x in result.losses)
    assert result.losses[-1] < result.losses[0]
    model = load_demo_model(tmp_path / "demo_model.safetensors")
    assert model.config == TINY
    assert (tmp_path / "loss.csv").read_text().count("\n") == 4  # header + 3 steps


def test_training_script_runs_without_the_compiled_core(tmp_path):
    # The script must work where only torch and the pure-Python dependencies exist: block the
    # compiled core in a fresh interpreter and run the script there.
    args = ["--out", str(tmp_path), "--max-steps", "1", "--layers", "1", "--heads", "2", "--head-dim", "16"]
    args += ["--clips-per-batch", "1", "--device", "cpu", "--no-preview"]
    code = (
        "import runpy, sys; sys.modules['ltx2_efficient._core'] = None; "
        f"sys.argv = ['train_demo_model.py', *{args!r}]; "
        f"runpy.run_path({str(REPO / 'scripts' / 'train_demo_model.py')!r}, run_name='__main__')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "trained 1 steps" in done.stdout
    assert (tmp_path / "demo_model.safetensors").is_file()
    assert (tmp_path / "summary.json").is_file()


def test_training_noise_levels_follow_the_shifted_logit_normal():
    generator = torch.Generator().manual_seed(0)
    sigma = sample_training_sigmas(20000, tokens=1088, generator=generator, uniform_share=0.0)
    assert float(sigma.min()) > 0 and float(sigma.max()) < 1
    # The median of sigmoid(N(0, 1)) is 0.5; the shift moves it to e^s / (e^s + 1).
    expected_median = float(shift_sigma(torch.tensor(0.5), token_shift(1088)))
    assert abs(float(sigma.median()) - expected_median) < 0.01
    assert token_shift(1024) == 0.95 and abs(token_shift(4096) - 2.05) < 1e-12
    clean, noise = torch.zeros(2, 3), torch.ones(2, 3)
    torch.testing.assert_close(
        noised(clean, noise, torch.tensor([0.25, 1.0])), torch.tensor([[0.25] * 3, [1.0] * 3])
    )


def test_training_continues_from_given_weights_and_refuses_another_config(tmp_path):
    first = TrainConfig(model=TINY, clips_per_batch=1, max_steps=2, device="cpu", fixed_batch=True)
    train(dataclasses.replace(first, out_dir=str(tmp_path / "first")))
    init = tmp_path / "first" / "demo_model_raw.safetensors"
    # Zero steps: what comes out is exactly what went in.
    again = TrainConfig(
        model=TINY, max_steps=0, device="cpu", init_weights=str(init), out_dir=str(tmp_path / "again")
    )
    train(again)
    before = load_demo_model(init).state_dict()
    after = load_demo_model(tmp_path / "again" / "demo_model_raw.safetensors").state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    other = DemoModelConfig(frames=7, num_layers=1, heads=2, head_dim=16)
    with pytest.raises(ValueError, match="init_weights"):
        train(
            TrainConfig(model=other, max_steps=0, device="cpu", init_weights=str(init), out_dir=str(tmp_path))
        )
    wider = DemoModelConfig(frames=5, num_layers=1, heads=2, head_dim=32)
    with pytest.raises(ValueError, match="init_weights"):
        train(
            TrainConfig(model=wider, max_steps=0, device="cpu", init_weights=str(init), out_dir=str(tmp_path))
        )


def test_training_continues_from_another_head_split_of_the_same_width(tmp_path):
    first = TrainConfig(model=TINY, clips_per_batch=1, max_steps=1, device="cpu", fixed_batch=True)
    train(dataclasses.replace(first, out_dir=str(tmp_path / "first")))
    init = tmp_path / "first" / "demo_model_raw.safetensors"
    one_head = dataclasses.replace(TINY, heads=1, head_dim=32)  # same 32 wide, one head
    train(
        TrainConfig(
            model=one_head, max_steps=0, device="cpu", init_weights=str(init), out_dir=str(tmp_path / "re")
        )
    )
    regrouped = load_demo_model(tmp_path / "re" / "demo_model_raw.safetensors")
    assert (regrouped.config.heads, regrouped.config.head_dim) == (1, 32)
    before = load_demo_model(init).state_dict()
    after = regrouped.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_a_deeper_model_starts_as_the_trained_one(tmp_path):
    first = TrainConfig(model=TINY, clips_per_batch=1, max_steps=2, device="cpu", fixed_batch=True)
    train(dataclasses.replace(first, out_dir=str(tmp_path / "first")))
    init = tmp_path / "first" / "demo_model_raw.safetensors"
    deeper = dataclasses.replace(TINY, num_layers=3)
    train(
        TrainConfig(
            model=deeper, max_steps=0, device="cpu", init_weights=str(init), out_dir=str(tmp_path / "d")
        )
    )
    trained = load_demo_model(init)
    grown = load_demo_model(tmp_path / "d" / "demo_model_raw.safetensors")
    assert len(grown.transformer.transformer_blocks) == 3
    # The trained block sits at position 0; blocks 1 and 2 are new and add nothing yet.
    assert torch.equal(
        grown.transformer.transformer_blocks[0].attn1.to_q.weight,
        trained.transformer.transformer_blocks[0].attn1.to_q.weight,
    )
    assert not torch.equal(
        grown.transformer.transformer_blocks[1].attn1.to_q.weight,
        trained.transformer.transformer_blocks[0].attn1.to_q.weight,
    )
    torch.manual_seed(3)
    latent = torch.randn(2, TINY.latent_channels, TINY.frames, TINY.grid, TINY.grid)
    sigma = torch.tensor([0.3, 0.8])
    ids = torch.tensor([[1, 2, 3, 1], [0, 1, 0, 2]])
    expected = trained.velocity(latent, sigma, trained.context(ids), 24.0)
    torch.testing.assert_close(grown.velocity(latent, sigma, grown.context(ids), 24.0), expected)
    # The grown model trains: one more step moves the new blocks' output layers off zero.
    train(
        TrainConfig(
            model=deeper,
            clips_per_batch=1,
            max_steps=1,
            warmup_steps=1,
            device="cpu",
            fixed_batch=True,
            init_weights=str(tmp_path / "d" / "demo_model_raw.safetensors"),
            out_dir=str(tmp_path / "d2"),
        )
    )
    stepped = load_demo_model(tmp_path / "d2" / "demo_model_raw.safetensors")
    assert stepped.transformer.transformer_blocks[2].ff.net[2].weight.abs().max() > 0


def test_block_placement_spreads_trained_blocks_and_refuses_shrinking():
    from ltx2_efficient.demo.model_growth import block_placement, compatible

    assert block_placement(5, 10) == [0, 2, 4, 6, 8]
    assert block_placement(5, 5) == [0, 1, 2, 3, 4]
    assert block_placement(2, 5) == [0, 2]
    with pytest.raises(ValueError, match="cannot start from 6"):
        block_placement(6, 5)
    assert compatible(TINY, dataclasses.replace(TINY, num_layers=4))
    assert not compatible(dataclasses.replace(TINY, num_layers=2), TINY)
    assert not compatible(TINY, dataclasses.replace(TINY, frames=7))


_AVERAGE_GRADIENTS = """
import pathlib, sys, torch
from ltx2_efficient.demo.data_parallel import DataParallel
with DataParallel.from_environment("cpu") as parallel:
    assert parallel.world == 2
    layer = torch.nn.Linear(3, 2)
    torch.nn.init.ones_(layer.weight)
    x = torch.full((4, 3), float(parallel.rank + 1))  # rank 0 sees ones, rank 1 twos
    layer(x).sum().backward()
    parallel.average_gradients(layer.parameters())
    loss, clock, clips = parallel.exchange(torch.tensor(float(parallel.rank)), 10.0 + parallel.rank, 3 + parallel.rank)
    # d/dW of sum over 4 rows of W x = 4 x per output: 4 and 8 -> mean 6.
    assert torch.allclose(layer.weight.grad, torch.full((2, 3), 6.0)), layer.weight.grad
    assert torch.allclose(layer.bias.grad, torch.full((2,), 4.0))
    assert (loss, clock, clips) == (0.5, 10.0, 7), (loss, clock, clips)
    pathlib.Path(sys.argv[1], f"rank{parallel.rank}.ok").write_text("ok")
"""


def _torchrun(args: list[str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_data_parallel_averages_gradients_and_shares_rank_zero_clock(tmp_path):
    script = tmp_path / "average.py"
    script.write_text(_AVERAGE_GRADIENTS)
    done = _torchrun([str(script), str(tmp_path)])
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in tmp_path.glob("*.ok")) == ["rank0.ok", "rank1.ok"]


def test_training_script_trains_data_parallel_under_torchrun(tmp_path):
    args = [str(REPO / "scripts" / "train_demo_model.py"), "--out", str(tmp_path), "--max-steps", "2"]
    args += ["--layers", "1", "--heads", "2", "--head-dim", "16", "--clips-per-batch", "1"]
    args += ["--device", "cpu", "--no-preview"]
    done = _torchrun(args)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("trained 2 steps") == 1  # rank 0 reports
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["processes"] == 2 and summary["steps"] == 2
    assert summary["samples_seen"] >= 2 * summary["steps"]  # every process's clips count


def test_data_parallel_refuses_bad_environment(monkeypatch):
    from ltx2_efficient.demo.data_parallel import DataParallel

    monkeypatch.delenv("WORLD_SIZE", raising=False)
    single = DataParallel.from_environment("cpu")
    assert (single.rank, single.world, single.is_main) == (0, 1, True)
    monkeypatch.setenv("WORLD_SIZE", "0")
    with pytest.raises(ValueError, match="WORLD_SIZE must be >= 1, got 0"):
        DataParallel.from_environment("cpu")
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ValueError, match="WORLD_SIZE must be an integer, got 'two'"):
        DataParallel.from_environment("cpu")
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.delenv("RANK", raising=False)
    with pytest.raises(ValueError, match="RANK must be set"):
        DataParallel.from_environment("cpu")
    monkeypatch.setenv("RANK", "2")
    with pytest.raises(ValueError, match=r"rank must be in \[0, 1\] for world size 2, got 2"):
        DataParallel.from_environment("cpu")
