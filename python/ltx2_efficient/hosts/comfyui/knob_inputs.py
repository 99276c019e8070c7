"""ComfyUI (V3 schema) inputs of the knobs, made from the core's knob table, and turning their
widget values into EfficientSettings.

A knob follows the node's preset until the user picks otherwise, and no number stands for "the
preset's value" (ComfyUI's frontend snaps number widgets to min + k*step, which breaks any such
sentinel):

- a number knob is two inputs: ``<name>_mode`` ("preset" or "custom") and ``<name>``, a number
  widget over exactly the knob's range (its default is the default preset's value, so the widget
  shows what that preset uses);
- a choice or on/off knob is one combo whose first option is "preset".

All knob inputs are advanced inputs: the node shows the preset (and the panel) until the user
asks for more. ``node_knob_inputs`` describes the layout for the frontend panel.
"""

from __future__ import annotations

from typing import Any

from comfy_api.latest import io

from ltx2_efficient import _core
from ltx2_efficient.sampler.settings import KNOB_ROWS, EfficientSettings

PRESET = "preset"
CUSTOM = "custom"
MODES = (PRESET, CUSTOM)
DEFAULT_PRESET = "balanced"
ON_OFF = ("on", "off")

ROWS: dict[str, dict[str, Any]] = {row["name"]: row for row in KNOB_ROWS}
# Node input names that differ from the knob's (the names saved workflows use).
_INPUT_NAMES = {"window": "attention_window"}


def input_name(knob: str) -> str:
    """The node input carrying knob ``knob``."""
    return _INPUT_NAMES.get(knob, knob)


def mode_input_name(knob: str) -> str:
    return f"{input_name(knob)}_mode"


def is_number(knob: str) -> bool:
    return ROWS[knob]["type"] in ("int", "float")


def preset_input() -> Any:
    names = list(_core.preset_names())
    lines = "; ".join(f"{n}: {_core.describe_preset(n)}" for n in names)
    return io.Combo.Input(
        "preset",
        options=names,
        default=DEFAULT_PRESET,
        tooltip=f"Named set of knob values; every knob left at 'preset' takes its value from here. {lines}.",
    )


def _tooltip(row: dict[str, Any]) -> str:
    unit = f" ({row['unit']})" if row["unit"] else ""
    return f"{row['help']} Allowed: {row['allowed']}{unit}."


def _number_inputs(row: dict[str, Any]) -> list[Any]:
    name = row["name"]
    default = row["presets"][DEFAULT_PRESET]
    mode = io.Combo.Input(
        mode_input_name(name),
        options=list(MODES),
        default=PRESET,
        advanced=True,
        tooltip=f"'preset': {input_name(name)} takes the preset's value; 'custom': the value below.",
    )
    widget_type = io.Int if row["type"] == "int" else io.Float
    value = widget_type.Input(
        input_name(name),
        default=default,
        min=row["min"],
        max=row["max"],
        step=row["step"],
        advanced=True,
        tooltip=_tooltip(row) + f" Used when {mode_input_name(name)} is 'custom'.",
    )
    return [mode, value]


def _choice_input(row: dict[str, Any]) -> Any:
    options = list(ON_OFF) if row["type"] == "bool" else list(row["choices"])
    return io.Combo.Input(
        input_name(row["name"]),
        options=[PRESET, *options],
        default=PRESET,
        advanced=True,
        tooltip=_tooltip(row) + " 'preset' = the preset's value.",
    )


def knob_inputs(knobs: tuple[str, ...]) -> list[Any]:
    """The V3 inputs of the knobs ``knobs`` (knob table names), in that order."""
    out: list[Any] = []
    for knob in knobs:
        row = ROWS[knob]
        out.extend(_number_inputs(row) if is_number(knob) else [_choice_input(row)])
    return out


def node_knob_inputs(knobs: tuple[str, ...] | None = None) -> dict[str, Any]:
    """How the knobs sit on the nodes, for the frontend panel: knob -> {widget, mode_widget}
    (mode_widget is None for choice knobs, whose widget itself offers "preset")."""
    names = tuple(ROWS) if knobs is None else knobs
    return {
        "preset_choice": PRESET,
        "custom_choice": CUSTOM,
        "on_off": list(ON_OFF),
        "knobs": {
            knob: {
                "widget": input_name(knob),
                "mode_widget": mode_input_name(knob) if is_number(knob) else None,
            }
            for knob in names
            if knob != "thermal_guard"  # a connection on the nodes, not a widget
        },
    }


def _choice_value(knob: str, value: Any) -> Any:
    row = ROWS[knob]
    if row["type"] == "bool":
        if value not in ON_OFF:
            raise ValueError(f"{input_name(knob)} must be one of preset on off, got {str(value)[:80]!r}")
        return value == "on"
    return value  # the core's table checks the choice


def settings_from_inputs(preset: str, knobs: tuple[str, ...], values: dict[str, Any]) -> EfficientSettings:
    """EfficientSettings from a preset and the node's knob inputs (``values`` by input name).

    Raises ValueError naming the node input for a bad value.
    """
    names = list(_core.preset_names())
    if preset not in names:
        raise ValueError(f"preset must be one of {' '.join(names)}, got {str(preset)[:80]!r}")
    overrides: dict[str, Any] = {}
    for knob in knobs:
        if is_number(knob):
            mode = values.get(mode_input_name(knob), PRESET)
            if mode not in MODES:
                raise ValueError(
                    f"{mode_input_name(knob)} must be one of preset custom, got {str(mode)[:80]!r}"
                )
            if mode == CUSTOM:
                if values.get(input_name(knob)) is None:
                    raise ValueError(
                        f"{input_name(knob)} needs a value when {mode_input_name(knob)} is 'custom'"
                    )
                overrides[knob] = values[input_name(knob)]
        else:
            value = values.get(input_name(knob), PRESET)
            if value != PRESET:
                overrides[knob] = _choice_value(knob, value)
    try:
        return EfficientSettings.from_preset(preset, **overrides)
    except ValueError as exc:
        message = str(exc)
        for knob in overrides:
            if input_name(knob) != knob and message.startswith(knob + " "):
                raise ValueError(input_name(knob) + message[len(knob) :]) from exc
        raise
