"""The thermal guard inside a real ComfyUI checkout, on a tiny LTXV model with random weights (CPU).

Runs when ``COMFYUI_DIR`` points at a ComfyUI checkout whose Python requirements are installed in
this environment; skipped otherwise. The guard reads the simulated GPU, and its ``sync`` hook
(called before each pace, where a real GPU's queued step would finish) makes the simulated GPU
do one step's work, so the pacing is real while the model runs on the CPU. Checked: pacing never
changes what is sampled, every model evaluation (or sampler step) is paced, each run reports
once, and ComfyUI's cancel interrupts a pause.

Passed against ComfyUI 0.20.1 (commit aa9d2fc713664e9ffe37763f4c9240c0c3eda667) with torch 2.13.0
on the CPU.
"""

from __future__ import annotations

import logging
import os
import sys

import pytest

COMFYUI_DIR = os.environ.get("COMFYUI_DIR", "")
pytestmark = pytest.mark.skipif(not COMFYUI_DIR, reason="COMFYUI_DIR is not set to a ComfyUI checkout")

torch = pytest.importorskip("torch")

STEPS = 4
UNET = {
    "image_model": "ltxv",
    "in_channels": 128,
    "cross_attention_dim": 32,
    "attention_head_dim": 8,
    "num_attention_heads": 4,
    "caption_channels": 16,
    "num_layers": 2,
}


@pytest.fixture(scope="module")
def comfy():
    if COMFYUI_DIR not in sys.path:
        sys.path.insert(0, COMFYUI_DIR)
    from comfy.cli_args import args

    if not torch.cuda.is_available():
        args.cpu = True
    args.use_pytorch_cross_attention = True
    import comfy.model_management
    import comfy.model_patcher
    import comfy.samplers
    import comfy.supported_models
    import comfy_extras.nodes_custom_sampler as custom
    import comfy_extras.nodes_lt as lt

    return comfy, custom, lt


@pytest.fixture(scope="module")
def model(comfy):
    comfy_pkg, _, _ = comfy
    config = comfy_pkg.supported_models.LTXV(dict(UNET))
    config.set_inference_dtype(torch.float32, None)
    base = config.get_model({}, device=torch.device("cpu"))
    generator = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in base.diffusion_model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.05)
    cpu = torch.device("cpu")
    return comfy_pkg.model_patcher.ModelPatcher(base, load_device=cpu, offload_device=cpu)


def _sample(comfy, patcher):
    comfy_pkg, custom, lt = comfy
    generator = torch.Generator().manual_seed(3)
    mask = torch.ones((1, 7), dtype=torch.long)
    positive = [[torch.randn((1, 7, 16), generator=generator), {"frame_rate": 24.0, "attention_mask": mask}]]
    negative = [[torch.randn((1, 7, 16), generator=generator), {"frame_rate": 24.0, "attention_mask": mask}]]
    guider = comfy_pkg.samplers.CFGGuider(patcher)
    guider.set_conds(positive, negative)
    guider.set_cfg(3.0)
    sigmas = lt.LTXVScheduler.execute(STEPS, 2.05, 0.95, True, 0.1).args[0]
    latent = lt.EmptyLTXVLatentVideo.execute(128, 64, 25, 1).args[0]
    noise = custom.Noise_RandomNoise(7)
    sampler = comfy_pkg.samplers.sampler_object("euler")
    return guider, noise, sampler, sigmas, latent


def _sim_guard(mode: str = "power", target: float = 50.0):
    from ltx2_efficient import _core
    from ltx2_efficient.thermal import ThermalGuard

    gpu = _core.SimulatedGpu()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        gpu.advance(seconds, 0.0)

    guard = ThermalGuard(
        mode, target, sensor=gpu, clock=lambda: gpu.now, sleep=sleep, sync=lambda: gpu.work(0.5)
    )
    return guard, gpu, slept


def test_model_node_paces_a_core_sampler_without_changing_its_output(comfy, model, caplog):
    from ltx2_efficient.hosts.comfyui.node_thermal_guard import (
        LTX2ThermalGuardModel,
        install_thermal_wrappers,
    )

    _, custom, _ = comfy
    guider, noise, sampler, sigmas, latent = _sample(comfy, model)
    baseline = custom.SamplerCustomAdvanced.execute(noise, guider, sampler, sigmas, latent).args[0]["samples"]

    (patched,) = LTX2ThermalGuardModel.execute(model, "power", 50.0, 5.0)
    guard, gpu, slept = _sim_guard()
    install_thermal_wrappers(patched, guard)  # the same wrappers, reading the simulated GPU
    guider, noise, sampler, sigmas, latent = _sample(comfy, patched)
    with caplog.at_level(logging.INFO, logger="ltx2_efficient"):
        out = custom.SamplerCustomAdvanced.execute(noise, guider, sampler, sigmas, latent).args[0]["samples"]
    assert torch.equal(out, baseline)
    report = guard.last_report
    assert report is not None and report.available
    assert report.work_units == STEPS  # euler: one model evaluation per step
    assert slept and report.paced_s == pytest.approx(sum(slept), abs=1e-6)
    lines = [
        r.getMessage() for r in caplog.records if r.getMessage().startswith("LTX2 Thermal Guard (sampler)")
    ]
    assert len(lines) == 1 and "power 50% of 300 W (150 W)" in lines[0]
    assert not model.wrappers.get("predict_noise")  # the input model is untouched


def test_model_node_without_nvml_logs_why_and_samples_as_usual(comfy, model, caplog, monkeypatch):
    from ltx2_efficient.hosts.comfyui.node_thermal_guard import LTX2ThermalGuardModel

    monkeypatch.setenv("LTX2EFF_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1")
    _, custom, _ = comfy
    guider, noise, sampler, sigmas, latent = _sample(comfy, model)
    baseline = custom.SamplerCustomAdvanced.execute(noise, guider, sampler, sigmas, latent).args[0]["samples"]
    (patched,) = LTX2ThermalGuardModel.execute(model, "temperature", 70.0, 5.0)
    guider, noise, sampler, sigmas, latent = _sample(comfy, patched)
    with caplog.at_level(logging.INFO, logger="ltx2_efficient"):
        out = custom.SamplerCustomAdvanced.execute(noise, guider, sampler, sigmas, latent).args[0]["samples"]
    assert torch.equal(out, baseline)
    assert any(
        "LTX2 Thermal Guard (sampler): not paced (cannot load" in r.getMessage() for r in caplog.records
    )


def test_efficient_sampler_paces_each_step_and_reports(comfy, model, caplog):
    from ltx2_efficient.hosts.comfyui.node_video_sampler import LTX2EfficientVideoSampler

    _, custom, _ = comfy
    guider, noise, sampler, sigmas, latent = _sample(comfy, model)
    baseline = custom.SamplerCustomAdvanced.execute(noise, guider, sampler, sigmas, latent).args[0]["samples"]
    guard, _, slept = _sim_guard()
    knobs = {
        name: spec[1]["default"]
        for name, spec in LTX2EfficientVideoSampler.INPUT_TYPES()["required"].items()
        if name not in ("noise", "guider", "sampler", "sigmas", "latent_image", "preset")
    }
    guider, noise, sampler, sigmas, latent = _sample(comfy, model)
    with caplog.at_level(logging.INFO, logger="ltx2_efficient"):
        result = LTX2EfficientVideoSampler.execute(
            noise, guider, sampler, sigmas, latent, "off", thermal_guard=guard, **knobs
        )
    assert torch.equal(result.args[0]["samples"], baseline)
    report = guard.last_report
    assert report is not None and report.work_units == STEPS
    assert slept
    assert sum(r.getMessage().startswith("LTX2 Thermal Guard (") for r in caplog.records) == 1


def test_cancel_interrupts_a_pause(comfy, model, caplog):
    from ltx2_efficient.hosts.comfyui.node_thermal_guard import install_thermal_wrappers

    comfy_pkg, custom, _ = comfy
    mm = comfy_pkg.model_management
    guard, gpu, slept = _sim_guard("power", 10.0)  # under idle power: the longest waits

    def sleep_then_cancel(seconds: float) -> None:
        slept.append(seconds)
        gpu.advance(seconds, 0.0)
        if len(slept) == 3:
            mm.interrupt_current_processing(True)

    guard.sleep = sleep_then_cancel
    patched = model.clone()
    install_thermal_wrappers(patched, guard)
    guider, noise, sampler, sigmas, latent = _sample(comfy, patched)
    try:
        with (
            caplog.at_level(logging.INFO, logger="ltx2_efficient"),
            pytest.raises(mm.InterruptProcessingException),
        ):
            custom.SamplerCustomAdvanced.execute(noise, guider, sampler, sigmas, latent)
    finally:
        mm.interrupt_current_processing(False)
    assert len(slept) == 3  # stopped at the next slice, not at the end of a multi-second wait
    assert any("(run ended early)" in r.getMessage() for r in caplog.records)
