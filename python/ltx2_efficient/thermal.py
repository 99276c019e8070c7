"""Thermal and power guard between sampler steps, over the C++ governor.

A :class:`ThermalGuard` holds what to keep (a GPU temperature, or a share of the enforced power
limit) and is the ``LTX2_THERMAL_GUARD`` value the ComfyUI nodes pass around. A sampler uses it
per run::

    with guard.for_run("sampling", cancel_check=throw_if_cancelled) as run:
        for step in steps:
            ...                # one denoising step
            run.pace()         # waits as long as the governor asks (in short, cancellable slices)
    run.report                 # energy (J), average/peak temperature and power, time paced...

Code that cannot hold a run object calls ``guard.between_steps()`` after each step instead: the
run opened by ``for_run`` (or, if none is open, one opened on the first call and closed by
``guard.finish()``) is paced. Each run logs one line when it ends.

The governor never changes clocks, power limits or modes: it only waits between units of work.
Without NVML (no NVIDIA driver, CI, macOS) nothing is paced and the log line says why. Pausing
keeps cancelling working: the wait is cut into slices of at most 50 ms, with ``cancel_check``
called before each (inside ComfyUI the default is
``comfy.model_management.throw_exception_if_processing_interrupted``).

This module needs no torch; when torch is loaded and a CUDA device is in use, ``pace()``
synchronises the device first, so that the step's queued kernels are counted as work.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from ltx2_efficient import _core

_log = logging.getLogger("ltx2_efficient")

GUARD_TYPE = "LTX2_THERMAL_GUARD"
MODES = ("temperature", "power")
TEMPERATURE_RANGE = (30.0, 100.0)  # degrees C
POWER_PERCENT_RANGE = (10.0, 100.0)  # percent of the enforced power limit
MARGIN_RANGE = (1.0, 30.0)  # degrees C under the slowdown threshold
MIN_WAIT_RANGE = (0.0, 1.0)  # seconds; shorter waits are carried over and taken together
WAIT_SLICE_S = 0.05  # longest uninterrupted sleep: cancel stays responsive
_BUS_ID = re.compile(r"^[0-9a-fA-F]{1,8}:[0-9a-fA-F]{1,2}:[0-9a-fA-F]{1,2}(\.[0-9a-fA-F])?$")

Clock = Callable[[], float]
Sleep = Callable[[float], None]


def target_range(mode: str) -> tuple[tuple[float, float], str]:
    """The allowed target of a guard mode and its unit: degrees C, or percent of the power limit."""
    if mode == "temperature":
        return TEMPERATURE_RANGE, " C"
    return POWER_PERCENT_RANGE, " percent of the power limit"


def _check_range(name: str, value: float, bounds: tuple[float, float], unit: str = "") -> float:
    lo, hi = bounds
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not lo <= float(value) <= hi:
        raise ValueError(f"{name} must be in [{lo:g}, {hi:g}]{unit}, got {value!r}")
    return float(value)


def comfy_cancel_check() -> Callable[[], None] | None:
    """ComfyUI's "raise if the user cancelled" when running inside ComfyUI, else None."""
    if "comfy" not in sys.modules:  # never import ComfyUI from outside it
        return None
    try:
        import comfy.model_management as mm
    except ImportError:
        return None
    return getattr(mm, "throw_exception_if_processing_interrupted", None)


def _torch_cuda() -> Any:  # torch.cuda or None
    torch = sys.modules.get("torch")  # only if the host already loaded it
    if torch is None:
        return None
    try:
        return torch.cuda if torch.cuda.is_available() else None
    except Exception:  # a broken driver must not break pacing
        return None


def cuda_pci_bus_id(index: int) -> str | None:
    """PCI bus id of CUDA device ``index`` (CUDA's numbering, CUDA_VISIBLE_DEVICES applied)."""
    if _core.built_with_cuda:
        try:
            if _core.cuda_device_count() > index:
                return str(_core.cuda_device_info(index).pci_bus_id) or None
        except RuntimeError as error:  # _core.Unavailable (no driver): ask torch instead
            _log.debug("CUDA device %d from the core: %s; asking torch", index, error)
    cuda = _torch_cuda()
    if cuda is None:
        return None
    try:
        props = cuda.get_device_properties(index)
    except (RuntimeError, AssertionError, ValueError) as error:  # no such device, no driver
        _log.debug("CUDA device %d from torch: %s", index, error)
        return None
    domain = getattr(props, "pci_domain_id", None)
    bus = getattr(props, "pci_bus_id", None)
    device = getattr(props, "pci_device_id", None)
    if bus is None or device is None:
        return None
    return f"{int(domain or 0):04x}:{int(bus):02x}:{int(device):02x}.0"


def open_sensor(device: int | str | None = None) -> Any:  # _core.Sensor
    """The NVML sensor of a GPU: a CUDA index or "cuda:N" (mapped by PCI bus id), a PCI bus id
    ("0000:65:00.0"), or None for torch's current CUDA device (NVML device 0 without torch).
    Never raises for a missing driver or GPU: check ``available`` / ``unavailable_reason``."""
    if isinstance(device, str) and _BUS_ID.match(device):
        return _core.open_nvml_sensor(pci_bus_id=device)
    index: int
    if device is None:
        cuda = _torch_cuda()
        index = int(cuda.current_device()) if cuda is not None else 0
    elif isinstance(device, int) and not isinstance(device, bool):
        index = device
    elif isinstance(device, str) and re.fullmatch(r"cuda:\d+", device):
        index = int(device.split(":")[1])
    else:
        raise ValueError(f"device must be a CUDA index, 'cuda:N' or a PCI bus id, got {device!r}")
    if index < 0:
        raise ValueError(f"device must be in [0, 1023], got {index}")
    bus_id = cuda_pci_bus_id(index)
    if bus_id:
        return _core.open_nvml_sensor(pci_bus_id=bus_id)
    return _core.open_nvml_sensor(index=index)


class ThermalRun:
    """One governed run (see the module docstring). Made by :meth:`ThermalGuard.for_run`."""

    def __init__(
        self,
        guard: ThermalGuard,
        label: str,
        cancel_check: Callable[[], None] | None,
        sensor: Any,  # _core.Sensor
    ) -> None:
        self.guard = guard
        self.label = label
        self.cancel_check = cancel_check
        self.governor = _core.ThermalGovernor(sensor, guard.governor_config())
        self.report: Any = None  # _core.ThermalReport once closed
        self.paced_s = 0.0
        self._open = False

    @property
    def governing(self) -> bool:
        """True when a target is being held (a sensor is there and can measure it)."""
        return bool(self.governor.governing)

    def open(self) -> ThermalRun:
        self.governor.start(self.guard.clock())
        self._open = True
        return self

    def __enter__(self) -> ThermalRun:
        return self.open()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close(cancelled=exc_type is not None)

    def close(self, cancelled: bool = False) -> Any:  # _core.ThermalReport
        """Ends the run, logs its one line and returns the report (idempotent)."""
        if self._open:
            self._open = False
            self.report = self.governor.report(self.guard.clock())
            suffix = " (run ended early)" if cancelled else ""
            _log.info("LTX2 Thermal Guard (%s): %s%s", self.label, self.report.summary_line(), suffix)
            self.guard.last_report = self.report
            if self.guard._run is self:
                self.guard._run = None
        return self.report

    def _sync(self) -> None:
        sync = self.guard.sync
        if sync is not None:
            sync()
            return
        cuda = _torch_cuda()
        if cuda is not None and cuda.is_initialized():
            cuda.synchronize()

    def _wait(self, seconds: float) -> float:
        """Sleeps ``seconds`` in slices, checking for cancel and keeping the readings current."""
        clock = self.guard.clock
        start = clock()
        end = start + seconds
        try:
            while True:
                if self.cancel_check is not None:
                    self.cancel_check()
                now = clock()
                left = end - now
                if left <= 1e-6:  # a clock's rounding is no reason to sleep again
                    break
                self.guard.sleep(min(WAIT_SLICE_S, left))
                self.governor.update(clock())
        finally:
            self.governor.resumed(clock())
        waited = clock() - start
        self.paced_s += waited
        return waited

    def pace(self) -> float:
        """Call after each unit of work (a denoising step). Returns the seconds waited."""
        if not self._open:
            self.open()
        if not self.governing:
            if self.cancel_check is not None:
                self.cancel_check()
            return 0.0
        self._sync()
        decision = self.governor.pace(self.guard.clock())
        waited = 0.0
        while decision.wait_s > 0.0:
            waited += self._wait(decision.wait_s)
            if not decision.emergency:
                break
            decision = self.governor.recheck(self.guard.clock())
        if waited == 0.0 and self.cancel_check is not None:
            self.cancel_check()
        return waited

    def pace_block(self) -> float:
        """Call between transformer blocks: paces only when the guard asks for block pacing."""
        return self.pace() if self.guard.pace_blocks else 0.0

    def state(self) -> Any:  # _core.GovernorState
        return self.governor.state


class ThermalGuard:
    """What to hold and how; the ``LTX2_THERMAL_GUARD`` value.

    ``mode``: "temperature" (``target`` in degrees C, [30, 100]) or "power" (``target`` in percent
    of the enforced power limit, [10, 100]). ``emergency_margin_c``: pause outright within this many
    degrees of the GPU's slowdown threshold. ``device``: see :func:`open_sensor`. ``sensor``: any
    ``_core.Sensor`` instead of NVML (a ``_core.SimulatedGpu`` in tests). ``clock``/``sleep``: the
    time source (tests drive simulated time). ``sync``: called before each pace (default: the
    current CUDA device, when torch has one). ``pace_blocks``: also pace between blocks.
    ``min_wait_s``: waits shorter than this are carried over and taken together (fewer, longer
    pauses over short steps).
    """

    def __init__(
        self,
        mode: str = "temperature",
        target: float = 75.0,
        emergency_margin_c: float = 5.0,
        *,
        device: int | str | None = None,
        sensor: Any = None,  # _core.Sensor
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        sync: Callable[[], None] | None = None,
        pace_blocks: bool = False,
        min_wait_s: float = 0.002,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        bounds, unit = target_range(mode)
        self.mode = mode
        self.target = _check_range("target", target, bounds, unit)
        self.emergency_margin_c = _check_range("emergency_margin_c", emergency_margin_c, MARGIN_RANGE, " C")
        if device is not None and not isinstance(device, (int, str)):
            raise ValueError(f"device must be a CUDA index, 'cuda:N' or a PCI bus id, got {device!r}")
        self.device = device
        self.sensor = sensor
        self.clock = clock
        self.sleep = sleep
        self.sync = sync
        self.pace_blocks = bool(pace_blocks)
        self.min_wait_s = _check_range("min_wait_s", min_wait_s, MIN_WAIT_RANGE, " s")
        self.last_report: Any = None  # _core.ThermalReport of the last closed run
        self._run: ThermalRun | None = None

    def describe(self) -> str:
        if self.mode == "temperature":
            what = f"temperature {self.target:g} C"
        else:
            what = f"power {self.target:g}% of the limit"
        return f"{what}, emergency margin {self.emergency_margin_c:g} C"

    def __repr__(self) -> str:
        return f"ThermalGuard({self.describe()})"

    def governor_config(self) -> Any:  # _core.GovernorConfig
        config = _core.GovernorConfig()
        if self.mode == "temperature":
            config.target_temperature_c = self.target
        else:
            config.target_power_fraction = self.target / 100.0
        config.emergency_margin_c = self.emergency_margin_c
        config.min_wait_s = self.min_wait_s
        config.validate()
        return config

    def for_run(self, label: str = "sampling", cancel_check: Callable[[], None] | None = None) -> ThermalRun:
        """A run to pace; use as a context manager (or call ``close()``). The guard's
        ``between_steps()`` paces it while it is open. ``cancel_check`` defaults to ComfyUI's."""
        if self._run is not None:
            self._run.close()
        sensor = self.sensor if self.sensor is not None else open_sensor(self.device)
        check = cancel_check if cancel_check is not None else comfy_cancel_check()
        self._run = ThermalRun(self, label, check, sensor)
        return self._run

    def between_steps(self) -> float:
        """Paces the open run (opening one on the first call). Returns the seconds waited."""
        if self._run is None:
            self.for_run().open()
        assert self._run is not None
        return self._run.pace()

    pace = between_steps

    def between_blocks(self) -> float:
        """Paces between transformer blocks when ``pace_blocks`` is on; else returns at once."""
        return self.between_steps() if self.pace_blocks else 0.0

    def finish(self) -> Any:  # _core.ThermalReport or None
        """Closes the run opened by ``between_steps()`` (logs its line); returns its report."""
        run, self._run = self._run, None
        return run.close() if run is not None else self.last_report

    def report_dict(self) -> dict[str, Any] | None:
        """The last run's report as plain data (for node outputs and JSON)."""
        r = self.last_report
        if r is None:
            return None
        return report_to_dict(r)


def report_to_dict(r: Any) -> dict[str, Any]:  # _core.ThermalReport
    return {
        "available": r.available,
        "unavailable_reason": r.unavailable_reason,
        "device": r.device,
        "target": r.target,
        "duration_s": r.duration_s,
        "energy_j": r.energy_j,
        "energy_from_counter": r.energy_from_counter,
        "average_power_w": r.average_power_w,
        "peak_power_w": r.peak_power_w,
        "average_temperature_c": r.average_temperature_c,
        "peak_temperature_c": r.peak_temperature_c,
        "paced_s": r.paced_s,
        "emergency_s": r.emergency_s,
        "emergency_pauses": r.emergency_pauses,
        "work_units": r.work_units,
        "clock_event_reasons": list(r.clock_event_names),
        "notes": list(r.notes),
        "summary": r.summary_line(),
    }


_live_sensors: dict[int | str | None, Any] = {}  # one open sensor per device asked for


def live_state(device: int | str | None = None) -> dict[str, Any]:
    """The GPU's temperature, power and throttling now, for the node panel; or why not."""
    sensor = _live_sensors.get(device)
    if sensor is None:
        sensor = open_sensor(device)
        if not sensor.available:  # not kept: a driver loaded later is found on the next call
            return {"available": False, "reason": sensor.unavailable_reason}
        _live_sensors[device] = sensor
    limits = sensor.limits()
    r = sensor.read()
    return {
        "available": True,
        "device": sensor.description,
        "temperature_c": r.temperature_c,
        "slowdown_c": limits.slowdown_c,
        "shutdown_c": limits.shutdown_c,
        "power_w": r.power_w,
        "power_limit_w": r.power_limit_w,
        "utilization": r.utilization,
        "sm_clock_mhz": r.sm_clock_mhz,
        "clock_event_reasons": list(r.clock_event_names),
    }
