"""The "LTX2 Thermal Guard" nodes: V3 schema, tooltips, and the model wrappers' pacing
(with a stand-in ModelPatcher and sampler executor; the wrapper signatures are ComfyUI's)."""

from __future__ import annotations

import logging

import pytest

from ltx2_efficient import _core
from ltx2_efficient.hosts.comfyui.node_thermal_guard import (
    OUTER_SAMPLE,
    PREDICT_NOISE,
    WRAPPER_KEY,
    LTX2ThermalGuard,
    LTX2ThermalGuardModel,
    install_thermal_wrappers,
)
from ltx2_efficient.hosts.comfyui.registry import node_mappings
from ltx2_efficient.thermal import GUARD_TYPE, ThermalGuard


class FakeModelPatcher:
    """The slice of comfy.model_patcher.ModelPatcher the node uses."""

    def __init__(self) -> None:
        self.wrappers: dict[str, dict[str, list]] = {}
        self.clones = 0

    def clone(self) -> FakeModelPatcher:
        c = FakeModelPatcher()
        c.wrappers = {k: {kk: list(vv) for kk, vv in v.items()} for k, v in self.wrappers.items()}
        self.clones += 1
        return c

    def add_wrapper_with_key(self, wrapper_type: str, key: str, wrapper) -> None:
        self.wrappers.setdefault(wrapper_type, {}).setdefault(key, []).append(wrapper)

    def remove_wrappers_with_key(self, wrapper_type: str, key: str) -> None:
        self.wrappers.get(wrapper_type, {}).pop(key, None)


class Executor:
    """comfy.patcher_extension.WrapperExecutor reduced to one wrapper over `original`."""

    def __init__(self, original) -> None:
        self.original = original

    def __call__(self, *args, **kwargs):
        return self.original(*args, **kwargs)


def test_nodes_are_registered_with_tooltips_on_every_input():
    classes, names = node_mappings()
    assert names["LTX2ThermalGuard"] == "LTX2 Thermal Guard"
    assert names["LTX2ThermalGuardModel"] == "LTX2 Thermal Guard (Model)"
    for cls in (LTX2ThermalGuard, LTX2ThermalGuardModel):
        assert classes[cls.__name__] is cls
        assert cls.GET_SCHEMA().category == "LTX2 Efficient"
        for group in cls.INPUT_TYPES().values():
            for name, (_, options) in group.items():
                assert options.get("tooltip"), f"{cls.__name__}.{name} has no tooltip"
    assert LTX2ThermalGuard.GET_NODE_INFO_V1()["output"] == [GUARD_TYPE]
    assert LTX2ThermalGuardModel.GET_NODE_INFO_V1()["output"] == ["MODEL"]


def test_guard_node_builds_the_guard_and_rejects_bad_targets():
    (guard,) = LTX2ThermalGuard.execute("power", 60.0, 5.0)
    assert isinstance(guard, ThermalGuard)
    assert guard.describe() == "power 60% of the limit, emergency margin 5 C"
    with pytest.raises(ValueError, match=r"target must be in \[30, 100\] C, got 20.0"):
        LTX2ThermalGuard.execute("temperature", 20.0, 5.0)


def test_model_node_returns_a_clone_with_one_set_of_wrappers():
    model = FakeModelPatcher()
    (patched,) = LTX2ThermalGuardModel.execute(model, "temperature", 70.0, 5.0)
    assert patched is not model and model.clones == 1
    assert model.wrappers == {}
    (twice,) = LTX2ThermalGuardModel.execute(patched, "power", 50.0, 5.0)
    for kind in (OUTER_SAMPLE, PREDICT_NOISE):
        assert len(twice.wrappers[kind][WRAPPER_KEY]) == 1  # replaced, not stacked


def test_wrappers_pace_every_model_evaluation_and_report_each_run(caplog):
    gpu = _core.SimulatedGpu()
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        gpu.advance(seconds, 0.0)

    guard = ThermalGuard("power", 50.0, sensor=gpu, clock=lambda: gpu.now, sleep=sleep, sync=lambda: None)
    model = FakeModelPatcher()
    install_thermal_wrappers(model, guard)
    outer = model.wrappers[OUTER_SAMPLE][WRAPPER_KEY][0]
    predict = model.wrappers[PREDICT_NOISE][WRAPPER_KEY][0]

    def model_call(x, timestep, model_options, seed):
        gpu.work(0.2)  # one model evaluation
        return x * 2

    def sample(noise, latent, sampler, sigmas, *rest):
        x = noise
        for _ in range(sigmas):
            x = predict(Executor(model_call), x, 1.0, {}, 0) // 2 + 1
        return x

    with caplog.at_level(logging.INFO, logger="ltx2_efficient"):
        result = outer(Executor(sample), 0, None, None, 100, None, None, False, 0)
        outer(Executor(sample), 0, None, None, 10, None, None, False, 0)
    assert result == 100  # the sampler's result comes through untouched
    lines = [r.getMessage() for r in caplog.records if "LTX2 Thermal Guard (sampler)" in r.getMessage()]
    assert len(lines) == 2  # one line per sampling run
    assert "power 50% of 300 W (150 W)" in lines[0]
    assert slept  # the guard did wait between evaluations
    assert guard.last_report.work_units == 10


@pytest.mark.parametrize("node", [LTX2ThermalGuard, LTX2ThermalGuardModel])
def test_a_target_outside_the_modes_range_is_one_error_of_the_node(node):
    # No validate_inputs: ComfyUI would list its message once under every input it takes. The
    # widget spans the widest range (10-100); the mode's own range is the node's one ValueError,
    # raised when it runs (before any sampler it feeds).
    assert first_override(node, "validate_inputs") is None
    target = node.INPUT_TYPES()["required"]["target"][1]
    assert (target["min"], target["max"]) == (10.0, 100.0)
    args = (FakeModelPatcher(),) if node is LTX2ThermalGuardModel else ()
    with pytest.raises(ValueError) as info:
        node.execute(*args, "temperature", 15.0, 5.0)
    assert str(info.value) == "target must be in [30, 100] C, got 15.0"
    node.execute(*args, "power", 15.0, 5.0)


def first_override(cls: type, name: str):
    for klass in cls.__mro__:
        if klass.__module__.startswith("ltx2_efficient") and name in vars(klass):
            return vars(klass)[name]
    return None
