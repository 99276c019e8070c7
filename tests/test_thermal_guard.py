"""The Python ThermalGuard over the C++ governor, driven by the simulated GPU in simulated time."""

from __future__ import annotations

import logging

import pytest

from ltx2_efficient import _core
from ltx2_efficient.thermal import WAIT_SLICE_S, ThermalGuard, live_state, report_to_dict

MISSING_NVML = "/nonexistent/libnvidia-ml.so.1"


class SimClock:
    """Simulated time: sleeping lets the simulated GPU idle; records every sleep."""

    def __init__(self, gpu) -> None:
        self.gpu = gpu
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.gpu.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.gpu.advance(seconds, 0.0)


def sim_guard(mode: str, target: float, **kwargs) -> tuple[ThermalGuard, object, SimClock]:
    gpu = _core.SimulatedGpu()
    clock = SimClock(gpu)
    guard = ThermalGuard(
        mode, target, sensor=gpu, clock=clock.now, sleep=clock.sleep, sync=lambda: None, **kwargs
    )
    return guard, gpu, clock


def test_power_mode_holds_the_target_and_reports(caplog):
    guard, gpu, clock = sim_guard("power", 60.0)
    energy_at = {}
    with caplog.at_level(logging.INFO, logger="ltx2_efficient"):
        with guard.for_run("test run") as run:
            while gpu.now < 90.0:
                gpu.work(0.1)  # one 100 ms step at full duty
                run.pace()
                for mark in (30.0, 90.0):
                    if mark not in energy_at and gpu.now >= mark:
                        energy_at[mark] = (gpu.now, gpu.energy)
    (t0, e0), (t1, e1) = energy_at[30.0], energy_at[90.0]
    assert (e1 - e0) / (t1 - t0) == pytest.approx(180.0, rel=0.03)  # 60% of the 300 W limit
    # Waits come in slices short enough for cancel to stay responsive.
    assert clock.sleeps and max(clock.sleeps) <= WAIT_SLICE_S + 1e-9
    report = run.report
    assert report is guard.last_report
    assert report.available
    assert report.paced_s == pytest.approx(sum(clock.sleeps), abs=1e-6)
    assert report.paced_s == pytest.approx(run.paced_s, abs=1e-6)
    assert report.energy_from_counter
    assert 0.4 < report.paced_share < 0.6
    lines = [r.getMessage() for r in caplog.records if "LTX2 Thermal Guard" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].startswith("LTX2 Thermal Guard (test run): thermal guard [power 60% of 300 W (180 W)]")
    data = report_to_dict(report)
    assert data["energy_j"] == pytest.approx(report.energy_j)
    assert data["clock_event_reasons"] == ["sw_power_cap"]


def test_temperature_mode_settles(caplog):
    guard, gpu, _ = sim_guard("temperature", 64.0)
    temperatures = []
    with guard.for_run("temperature") as run:
        while gpu.now < 400.0:
            gpu.work(0.25)
            run.pace()
            if gpu.now > 300.0:
                temperatures.append(gpu.temperature)
    assert 63.0 < min(temperatures) and max(temperatures) < 65.5
    assert run.report.peak_temperature_c <= 67.0


def test_cancel_is_checked_while_pacing_and_the_run_still_reports(caplog):
    guard, gpu, clock = sim_guard("power", 20.0)  # a low target: long waits
    calls = []

    class Cancelled(Exception):
        pass

    def cancel_check() -> None:
        calls.append(gpu.now)
        if len(calls) > 40:
            raise Cancelled

    with caplog.at_level(logging.INFO, logger="ltx2_efficient"), pytest.raises(Cancelled):
        with guard.for_run("cancel", cancel_check=cancel_check) as run:
            for _ in range(10_000):
                gpu.work(0.5)
                run.pace()
    # Cancelled mid-wait within one slice, not at the end of a multi-second wait.
    assert len(calls) == 41
    assert run.report is not None
    assert any("(run ended early)" in r.getMessage() for r in caplog.records)


def test_emergency_pause_near_the_slowdown_threshold():
    spec = _core.SimulatedGpuSpec()
    spec.thermal_resistance_c_per_w = 0.3  # full load would settle at 120 C, slowdown is 90 C
    spec.time_constant_s = 4.0
    gpu = _core.SimulatedGpu(spec)
    clock = SimClock(gpu)
    guard = ThermalGuard("power", 100.0, sensor=gpu, clock=clock.now, sleep=clock.sleep, sync=lambda: None)
    peak = 0.0
    with guard.for_run("hot") as run:
        while gpu.now < 60.0:
            gpu.work(0.1)
            run.pace()
            peak = max(peak, gpu.temperature)
    assert run.report.emergency_pauses >= 1
    assert peak < spec.slowdown_c


def test_between_steps_opens_a_run_and_finish_closes_it(caplog):
    guard, gpu, _ = sim_guard("power", 50.0)
    with caplog.at_level(logging.INFO, logger="ltx2_efficient"):
        for _ in range(50):
            gpu.work(0.1)
            guard.between_steps()
        report = guard.finish()
    assert report is not None and report.work_units == 50
    assert report.paced_s > 0.0
    assert guard.finish() is report  # nothing open any more: the last report
    assert sum("LTX2 Thermal Guard (sampling)" in r.getMessage() for r in caplog.records) == 1


def test_without_nvml_nothing_is_paced_but_cancel_still_works(caplog):
    sensor = _core.open_nvml_sensor(library_path=MISSING_NVML)
    slept = []
    guard = ThermalGuard("temperature", 70.0, sensor=sensor, sleep=slept.append, sync=lambda: None)
    checks = []
    with caplog.at_level(logging.INFO, logger="ltx2_efficient"):
        with guard.for_run("no gpu", cancel_check=lambda: checks.append(1)) as run:
            assert not run.governing
            for _ in range(5):
                assert run.pace() == 0.0
    assert slept == []
    assert len(checks) == 5
    assert not run.report.available
    assert "cannot load" in run.report.unavailable_reason
    messages = [r.getMessage() for r in caplog.records if "LTX2 Thermal Guard" in r.getMessage()]
    assert messages == [f"LTX2 Thermal Guard (no gpu): not paced ({run.report.unavailable_reason})"]


def test_live_state_without_nvml(monkeypatch):
    monkeypatch.setenv("LTX2EFF_NVML_LIBRARY", MISSING_NVML)
    state = live_state(0)
    assert state["available"] is False
    assert "cannot load" in state["reason"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("fan", 70.0), "mode must be one of temperature, power, got 'fan'"),
        (("power", 5.0), "target must be in [10, 100] percent of the power limit, got 5.0"),
        (("temperature", 120.0), "target must be in [30, 100] C, got 120.0"),
        (("temperature", 70.0, 0.0), "emergency_margin_c must be in [1, 30] C, got 0.0"),
    ],
)
def test_bad_settings_raise_naming_the_parameter(args, message):
    with pytest.raises(ValueError) as info:
        ThermalGuard(*args)
    assert str(info.value) == message


def test_bad_device_is_rejected():
    with pytest.raises(ValueError, match="device must be a CUDA index"):
        ThermalGuard("power", 60.0, device="gpu zero").for_run()


def test_describe_and_config():
    guard = ThermalGuard("power", 60.0, 4.0)
    assert guard.describe() == "power 60% of the limit, emergency margin 4 C"
    config = guard.governor_config()
    assert config.target_power_fraction == pytest.approx(0.6)
    assert config.target_temperature_c is None
    assert config.emergency_margin_c == 4.0


def test_min_wait_gathers_short_waits_into_longer_pauses():
    guard, gpu, _ = sim_guard("power", 60.0, min_wait_s=0.25)
    waits = []
    with guard.for_run("coarse") as run:
        while gpu.now < 60.0:
            gpu.work(0.02)  # steps far shorter than the pauses
            waits.append(run.pace())
        e0, t0 = gpu.energy, gpu.now
        while gpu.now < 120.0:
            gpu.work(0.02)
            waits.append(run.pace())
    taken = [w for w in waits if w > 0.0]
    assert min(taken) >= 0.25 - 1e-9
    assert len(taken) < len(waits) / 5  # several steps run between two pauses
    assert (gpu.energy - e0) / (gpu.now - t0) == pytest.approx(180.0, rel=0.03)  # the target still holds


def test_live_state_keeps_one_open_sensor_per_device_and_retries_unavailable_ones(monkeypatch):
    from types import SimpleNamespace

    import ltx2_efficient.thermal as thermal

    opened: list[object] = []

    def fake_open(device=None):
        opened.append(device)
        if device == "cuda:1":
            return SimpleNamespace(available=False, unavailable_reason="no such GPU")
        reading = SimpleNamespace(
            temperature_c=50.0, power_w=100.0, power_limit_w=700.0, utilization=0.5,
            sm_clock_mhz=1500.0, clock_event_names=[],
        )  # fmt: skip
        limits = SimpleNamespace(slowdown_c=89.0, shutdown_c=95.0)
        return SimpleNamespace(
            available=True, description=f"GPU {device}", read=lambda: reading, limits=lambda: limits
        )

    monkeypatch.setattr(thermal, "open_sensor", fake_open)
    monkeypatch.setattr(thermal, "_live_sensors", {})
    assert thermal.live_state()["device"] == "GPU None"
    assert thermal.live_state(0)["device"] == "GPU 0"
    assert thermal.live_state()["device"] == "GPU None"  # not the last device asked for
    assert thermal.live_state(0)["temperature_c"] == 50.0
    assert opened == [None, 0]  # each opened once
    assert thermal.live_state("cuda:1") == {"available": False, "reason": "no such GPU"}
    thermal.live_state("cuda:1")
    assert opened == [None, 0, "cuda:1", "cuda:1"]  # an unavailable sensor is asked again
