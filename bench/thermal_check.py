"""Device check of the thermal governor: hold 60% of the enforced power limit under a sustained
GPU load, through the project's C++ governor (NVML read through the Python binding).

A load of large bf16 matrix products, in steps of known work (``--matmuls`` products of
``--size``^3 per step, each step synchronised), runs for ``--unpaced`` seconds as fast as it can,
then for ``--settle`` + ``--measure`` seconds under ``ThermalGuard("power", target)``, which waits
between steps. Power is the GPU's energy counter over each window (exact, not NVML's 1 s
average). Printed and written under ``--out``: the unpaced power and throughput, the average
power over the measured window, its error against the target, the throughput relative to the
unpaced run, and the two checks of the target:

- average power within 5% of the target;
- throughput no worse than 0.9 x (target power / unpaced power).

Files: thermal_check.json (summary and the run's report), thermal_check.csv (time series, one
row per sensor sample), thermal_check.png (power, temperature and duty over time).

``--simulate`` runs the same script without a GPU against the simulated GPU in real time (a dry
run of the script itself; its numbers are the model's, not a measurement).

The governor only waits: it never changes clocks, power limits or modes.

    python bench/thermal_check.py --out /tmp/thermal   # after `pip install .` with NVML present
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ltx2_efficient import _core
from ltx2_efficient.thermal import ThermalGuard, open_sensor, report_to_dict

sys.path.insert(0, str(Path(__file__).resolve().parent))
from thermal_plot import Panel, Series, write_chart


@dataclass
class Sample:
    t: float
    phase: str
    temperature_c: float | None
    power_w: float | None
    energy_j: float | None
    utilization: float | None
    sm_clock_mhz: float | None
    reasons: str


class SensorLog(threading.Thread):
    """Reads the GPU every `interval` seconds on its own NVML handle, tagged with the phase."""

    def __init__(self, sensor, start: float, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.sensor = sensor
        self.start_t = start
        self.interval = interval
        self.phase = "warmup"
        self.samples: list[Sample] = []
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            r = self.sensor.read()
            self.samples.append(
                Sample(
                    time.monotonic() - self.start_t,
                    self.phase,
                    r.temperature_c,
                    r.power_w,
                    r.energy_j,
                    r.utilization,
                    r.sm_clock_mhz,
                    "|".join(r.clock_event_names),
                )
            )
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def xy(pairs: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    return [a for a, _ in pairs], [b for _, b in pairs]


class Load:
    """Steps of known work: `matmuls` bf16 products of size^3, synchronised per step."""

    def __init__(self, size: int, matmuls: int) -> None:
        import torch

        self.torch = torch
        g = torch.Generator(device="cuda").manual_seed(0)
        self.a = torch.randn(size, size, device="cuda", dtype=torch.bfloat16, generator=g)
        self.b = torch.randn(size, size, device="cuda", dtype=torch.bfloat16, generator=g)
        self.c = torch.empty(size, size, device="cuda", dtype=torch.bfloat16)
        self.matmuls = matmuls
        self.flops_per_step = 2.0 * size**3 * matmuls

    def step(self) -> None:
        for _ in range(self.matmuls):
            self.torch.matmul(self.a, self.b, out=self.c)
        self.torch.cuda.synchronize()


class SimulatedLoad:
    """The dry run's load: the simulated GPU works `step_s` per step, in step with wall time."""

    def __init__(self, gpu, step_s: float = 0.012) -> None:
        self.gpu = gpu
        self.step_s = step_s
        self.flops_per_step = 0.0
        self.last = time.monotonic()

    def step(self) -> None:
        now = time.monotonic()
        self.gpu.advance(max(0.0, now - self.last), 0.0)  # the wait since the last step
        time.sleep(self.gpu.work(self.step_s))
        self.last = time.monotonic()


def simulated_h100():
    spec = _core.SimulatedGpuSpec()
    spec.name = "simulated 700 W GPU"
    spec.idle_power_w, spec.full_load_power_w, spec.power_limit_w = 90.0, 690.0, 700.0
    spec.thermal_resistance_c_per_w, spec.time_constant_s, spec.slowdown_c = 0.06, 20.0, 90.0
    return _core.SimulatedGpu(spec)


def run_phase(load: Load, seconds: float, pace=None, marks: list | None = None, t0: float = 0.0) -> int:
    """Runs steps for `seconds`; `pace()` after each; returns the step count."""
    end = time.monotonic() + seconds
    steps = 0
    while time.monotonic() < end:
        load.step()
        if pace is not None:
            pace()
        steps += 1
        if marks is not None:
            marks.append((time.monotonic() - t0, steps))
    return steps


def windowed(samples: list[Sample], t_from: float, t_to: float) -> tuple[float, float, float]:
    """(energy J, seconds, average W) between the samples nearest t_from and t_to: from the
    energy counter, or (a GPU without one) from the reported power, time-weighted."""
    inside = [s for s in samples if t_from <= s.t <= t_to and s.energy_j is not None]
    if len(inside) >= 2:
        a, b = inside[0], inside[-1]
        return b.energy_j - a.energy_j, b.t - a.t, (b.energy_j - a.energy_j) / (b.t - a.t)
    powered = [s for s in samples if t_from <= s.t <= t_to and s.power_w is not None]
    energy = sum(a.power_w * (b.t - a.t) for a, b in zip(powered, powered[1:], strict=False))
    seconds = powered[-1].t - powered[0].t
    return energy, seconds, energy / seconds


def power_series(samples: list[Sample], window: float = 0.5) -> tuple[list[float], list[float]]:
    """Power from the energy counter over trailing windows, one point per sample."""
    xs, ys = [], []
    j = 0
    for s in samples:
        while samples[j].t < s.t - window:
            j += 1
        a = samples[j]
        if s.energy_j is None or a.energy_j is None or s.t - a.t < 0.5 * window:
            continue
        xs.append(s.t)
        ys.append((s.energy_j - a.energy_j) / (s.t - a.t))
    return xs, ys


@dataclass
class Gpu:
    """The GPU under test: its sensor, CUDA index and synchronise (None when simulated), versions."""

    sensor: object
    device: int | None
    sync: object
    driver: str
    torch_version: str


@dataclass
class Measured:
    """One measured window of a phase: its bounds (s since the start), power and throughput."""

    t_from: float
    t_to: float
    seconds: float
    power_w: float
    steps_per_s: float


@dataclass
class Checks:
    """The paced run against the target: power error, relative throughput and the two checks."""

    error: float
    throughput: float
    power_ratio: float
    needed: float
    power_ok: bool
    throughput_ok: bool


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    gpu = _open_gpu(args.simulate)
    if gpu is None:
        return 2
    sensor = gpu.sensor
    if not sensor.available:
        print(f"thermal_check: NVML unavailable: {sensor.unavailable_reason}")
        (args.out / "thermal_check.json").write_text(
            json.dumps({"available": False, "reason": sensor.unavailable_reason})
        )
        return 2
    limits = sensor.limits()
    limit_w = float(limits.enforced_power_limit_w)
    target_w = args.target / 100.0 * limit_w
    print(f"device: {sensor.description}, driver {gpu.driver}, torch {gpu.torch_version}")
    print(
        f"enforced power limit {limit_w:.0f} W, target {args.target:g}% = {target_w:.0f} W; slowdown {limits.slowdown_c} C"
    )

    load = SimulatedLoad(sensor) if args.simulate else Load(args.size, args.matmuls)
    t0 = time.monotonic()
    log = SensorLog(sensor, t0)
    log.start()
    run_phase(load, 3.0)  # warm-up: cuBLAS handles, clocks up
    unpaced = _run_unpaced(load, log, args.unpaced, t0)
    paced_run = _run_paced(load, log, args, gpu, t0)
    if paced_run is None:
        return 2
    report, duty, paced = paced_run

    checks = _checks(unpaced, paced, target_w)
    duty_in_window = [d for t, d in duty if t >= paced.t_from]
    summary = _summary(args, gpu, limit_w, target_w, load, unpaced, paced, duty_in_window, checks, report)
    (args.out / "thermal_check.json").write_text(json.dumps(summary, indent=2))
    _write_samples_csv(args.out / "thermal_check.csv", log.samples)
    renderer = _write_plot(
        args.out / "thermal_check.png",
        log.samples,
        duty,
        (unpaced, paced),
        target_w,
        limit_w,
        f"thermal governor: power target {args.target:g}% on {sensor.description}",
    )
    _print_results(unpaced, paced, target_w, checks, summary, report, renderer, args.out)
    return 0 if checks.power_ok and checks.throughput_ok else 1


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True, help="folder for the JSON, CSV and PNG")
    p.add_argument("--target", type=float, default=60.0, help="power target, percent of the enforced limit")
    p.add_argument(
        "--unpaced", type=float, default=35.0, help="seconds of unpaced load (the first 10 s not measured)"
    )
    p.add_argument("--settle", type=float, default=15.0, help="seconds of paced load before measuring")
    p.add_argument("--measure", type=float, default=60.0, help="seconds of paced load measured")
    p.add_argument("--size", type=int, default=8192, help="matrix size of the load")
    p.add_argument(
        "--matmuls", type=int, default=24, help="matrix products per step (24 x 8192^3: ~35 ms on an H100)"
    )
    p.add_argument(
        "--min-wait", type=float, default=0.002, help="shortest wait; shorter ones are carried over"
    )
    p.add_argument("--simulate", action="store_true", help="dry run on the simulated GPU (no GPU needed)")
    return p


def _open_gpu(simulate: bool) -> Gpu | None:
    """The simulated GPU, or the current CUDA device's sensor; None (reported) without CUDA."""
    if simulate:
        return Gpu(simulated_h100(), None, None, "simulated", "not used")
    import torch

    if not torch.cuda.is_available():
        print("thermal_check: no CUDA device")
        return None
    device = torch.cuda.current_device()
    sensor = open_sensor(device)
    return Gpu(sensor, device, torch.cuda.synchronize, _core.nvml_status().driver_version, torch.__version__)


def _measured(samples: list[Sample], marks: list[tuple[float, int]], t_from: float, t_to: float) -> Measured:
    """Power (energy counter) and steps per second between ``t_from`` and ``t_to``."""
    _, seconds, power_w = windowed(samples, t_from, t_to)
    steps = [m for m in marks if t_from <= m[0] <= t_to]
    rate = (steps[-1][1] - steps[0][1]) / (steps[-1][0] - steps[0][0])
    return Measured(t_from, t_to, seconds, power_w, rate)


def _run_unpaced(load: Load, log: SensorLog, seconds: float, t0: float) -> Measured:
    log.phase = "unpaced"
    u_start = time.monotonic() - t0
    marks: list[tuple[float, int]] = []
    run_phase(load, seconds, marks=marks, t0=t0)
    u_end = time.monotonic() - t0
    u_from = u_start + min(10.0, seconds / 3)  # past the ramp to the power limit
    return _measured(log.samples, marks, u_from, u_end)


def _run_paced(
    load: Load, log: SensorLog, args: argparse.Namespace, gpu: Gpu, t0: float
) -> tuple[object, list[tuple[float, float]], Measured] | None:
    """The load under the governor, then the sensor log stopped: (the run's report, the duty
    over time, the measured window past the settling time), or None (reported) when the governor
    cannot hold the target."""
    log.phase = "paced"
    guard = ThermalGuard(
        "power",
        args.target,
        device=gpu.device,
        sync=gpu.sync,
        sensor=gpu.sensor if args.simulate else None,
        min_wait_s=args.min_wait,
    )
    marks: list[tuple[float, int]] = []
    duty: list[tuple[float, float]] = []
    p_start = time.monotonic() - t0
    with guard.for_run("thermal_check") as run:
        if not run.governing:
            print(f"thermal_check: the governor cannot hold the target: {run.governor.unavailable_reason}")
            log.stop()
            return None

        def pace() -> None:
            run.pace()
            duty.append((time.monotonic() - t0, run.governor.state.duty))

        run_phase(load, args.settle + args.measure, pace=pace, marks=marks, t0=t0)
    p_end = time.monotonic() - t0
    log.phase = "done"
    time.sleep(0.3)
    log.stop()
    return run.report, duty, _measured(log.samples, marks, p_start + args.settle, p_end)


def _checks(unpaced: Measured, paced: Measured, target_w: float) -> Checks:
    error = (paced.power_w - target_w) / target_w
    throughput = paced.steps_per_s / unpaced.steps_per_s
    power_ratio = target_w / unpaced.power_w
    needed = 0.9 * power_ratio
    return Checks(error, throughput, power_ratio, needed, abs(error) <= 0.05, throughput >= needed)


def _summary(
    args: argparse.Namespace,
    gpu: Gpu,
    limit_w: float,
    target_w: float,
    load: Load,
    unpaced: Measured,
    paced: Measured,
    duty_in_window: list[float],
    checks: Checks,
    report,
) -> dict:
    """Everything thermal_check.json holds."""
    return {
        "device": gpu.sensor.description,
        "driver": gpu.driver,
        "torch": gpu.torch_version,
        "date": time.strftime("%Y-%m-%d"),
        "enforced_power_limit_w": limit_w,
        "target_percent": args.target,
        "target_w": target_w,
        "load": {"size": args.size, "matmuls_per_step": args.matmuls, "tflop_per_step": load.flops_per_step / 1e12},
        "min_wait_s": args.min_wait,
        "unpaced": {"seconds_measured": unpaced.seconds, "average_power_w": unpaced.power_w, "steps_per_s": unpaced.steps_per_s,
                    "tflops": unpaced.steps_per_s * load.flops_per_step / 1e12},
        "paced": {"settle_s": args.settle, "seconds_measured": paced.seconds, "average_power_w": paced.power_w,
                  "steps_per_s": paced.steps_per_s, "tflops": paced.steps_per_s * load.flops_per_step / 1e12,
                  "duty_mean": sum(duty_in_window) / max(len(duty_in_window), 1),
                  "duty_min": min(duty_in_window, default=math.nan), "duty_max": max(duty_in_window, default=math.nan)},
        "power_error": checks.error,
        "throughput_relative": checks.throughput,
        "target_over_unpaced_power": checks.power_ratio,
        "throughput_needed": checks.needed,
        "checks": {"power_within_5_percent": checks.power_ok, "throughput_at_least_0.9x_power_ratio": checks.throughput_ok},
        "report": report_to_dict(report),
    }  # fmt: skip


def _write_samples_csv(path: Path, samples: list[Sample]) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["t_s", "phase", "temperature_c", "power_w", "energy_j", "utilization", "sm_clock_mhz", "reasons"]
        )
        for s in samples:
            w.writerow(
                [
                    f"{s.t:.3f}",
                    s.phase,
                    s.temperature_c,
                    s.power_w,
                    s.energy_j,
                    s.utilization,
                    s.sm_clock_mhz,
                    s.reasons,
                ]
            )


def _write_plot(
    path: Path,
    samples: list[Sample],
    duty: list[tuple[float, float]],
    windows: tuple[Measured, Measured],
    target_w: float,
    limit_w: float,
    title: str,
) -> str:
    """Power, temperature and duty over time, the measured windows shaded; returns the renderer."""
    px, py = power_series(samples)
    temps = [(s.t, s.temperature_c) for s in samples if s.temperature_c is not None]
    nvml = [(s.t, s.power_w) for s in samples if s.power_w is not None]
    unpaced, paced = windows
    spans = [(unpaced.t_from, unpaced.t_to, (235, 235, 250)), (paced.t_from, paced.t_to, (230, 245, 230))]
    panels = [
        Panel(
            "power (W): energy counter over 0.5 s (blue), NVML power reading (grey)",
            [Series("energy-derived", px, py, (30, 80, 200)), Series("NVML reading", *xy(nvml), (150, 150, 150))],
            [(target_w, (200, 30, 30), f"target {target_w:.0f} W"), (limit_w, (0, 0, 0), f"limit {limit_w:.0f} W")],
            spans,
        ),
        Panel("temperature (C)", [Series("GPU", *xy(temps), (200, 100, 0))], [], spans),
        Panel("duty cycle of the governor", [Series("duty", *xy(duty), (0, 140, 60))], [], spans),
    ]  # fmt: skip
    return write_chart(path, panels, title)


def _print_results(
    unpaced: Measured,
    paced: Measured,
    target_w: float,
    checks: Checks,
    summary: dict,
    report,
    renderer: str,
    out: Path,
) -> None:
    print()
    print(f"{'':28s}{'unpaced':>12s}{'paced':>12s}")
    print(f"{'average power (W)':28s}{unpaced.power_w:12.1f}{paced.power_w:12.1f}   target {target_w:.1f} W")
    print(f"{'throughput (steps/s)':28s}{unpaced.steps_per_s:12.2f}{paced.steps_per_s:12.2f}")
    print(
        f"{'throughput (TFLOP/s)':28s}{summary['unpaced']['tflops']:12.1f}{summary['paced']['tflops']:12.1f}"
    )
    print(
        f"power error vs target: {100 * checks.error:+.2f}%  -> {'PASS' if checks.power_ok else 'FAIL'} (within 5%)"
    )
    print(f"throughput relative: {checks.throughput:.3f} (target/unpaced power {checks.power_ratio:.3f}, needed >= {checks.needed:.3f})"
          f"  -> {'PASS' if checks.throughput_ok else 'FAIL'}")  # fmt: skip
    print(
        f"duty over the window: mean {summary['paced']['duty_mean']:.3f}, min {summary['paced']['duty_min']:.3f}, max {summary['paced']['duty_max']:.3f}"
    )
    print(f"run report: {report.summary_line()}")
    print(f"plot ({renderer}), CSV and JSON in {out}")


if __name__ == "__main__":
    sys.exit(main())
