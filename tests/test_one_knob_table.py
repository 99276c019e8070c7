"""The knobs are defined once, in the C++ core's knob table (cpp/src/knobs.cpp): a second table
(knob names with types, ranges, defaults or sentinels, or a full list of the knob names) anywhere
in the Python package or the frontend's sources fails here. Everything else reads
``_core.knob_table()`` (the frontend through /ltx2eff/presets)."""

from __future__ import annotations

import re
from pathlib import Path

from ltx2_efficient import _core

REPO = Path(__file__).resolve().parents[1]
SOURCES = [*sorted((REPO / "python").rglob("*.py")), *sorted((REPO / "frontend" / "src").rglob("*.ts")),
           *sorted((REPO / "frontend" / "src").rglob("*.vue"))]  # fmt: skip
# Frozen history, not a table of today's knobs: the widget layout of version 0.1.0's nodes, which
# loading a workflow saved by that version needs.
HISTORY = {REPO / "frontend" / "src" / "legacyWidgets.ts"}
NAMES = [row["name"] for row in _core.knob_table()] + [
    a for row in _core.knob_table() for a in row["aliases"]
]


def _spec_entries(text: str) -> list[str]:
    """Knob names used as a key whose value is a (type, options) spec, an options object or a
    type name (``"window": ("int", ...)``, ``"far_field": {"min": ...}``), and sentinel tables:
    three or more knob names mapped to negative numbers (``frame_stride: -1, window: -2``).
    Plain override values (``{"window": 2}``, what eval grids and tests set) are no table."""
    names = "|".join(map(re.escape, NAMES))
    key = rf"""(['"]?)\b({names})\1\s*:\s*"""
    specs = [
        m.group(2)
        for m in re.finditer(key + r"""(\(|\{|['"](?:int|float|bool|choice|INT|FLOAT|BOOLEAN)['"])""", text)
    ]
    negatives = [m.group(2) for m in re.finditer(key + r"-\d", text)]
    return specs + (negatives if len(set(negatives)) >= 3 else [])


def _quoted_names(text: str) -> set[str]:
    return {name for name in NAMES if re.search(rf"""['"]{re.escape(name)}['"]""", text)}


def test_no_second_knob_table_in_python_or_the_frontend():
    assert len(SOURCES) > 50
    full_list = len(_core.knob_table()) - 1  # all knobs, or all but one
    problems = []
    for path in SOURCES:
        if path in HISTORY:
            continue
        text = path.read_text()
        entries = _spec_entries(text)
        if entries:
            problems.append(f"{path.relative_to(REPO)}: knob specs for {sorted(set(entries))}")
        quoted = _quoted_names(text)
        if len(quoted) >= full_list:
            problems.append(f"{path.relative_to(REPO)}: lists {len(quoted)} knob names")
    assert not problems, "a second knob table (read _core.knob_table() instead):\n" + "\n".join(problems)


def test_the_check_finds_the_tables_it_is_meant_to_find():
    # What the project had before the table moved into the core, in its three spellings.
    assert _spec_entries('_FIELDS = {"frame_stride": ("int", "stride"), "window": ("int", "K")}') == [
        "frame_stride",
        "window",
    ]
    assert _spec_entries("sentinels: { frame_stride: -1, attention_window: -2, far_field: -1 }") == [
        "frame_stride",
        "attention_window",
        "far_field",
    ]
    assert _spec_entries('{"window": -1, "far_field": 4}') == []  # an override, not a table
    assert _spec_entries('"far_field": ("INT", {"default": -1, "min": -1})') == ["far_field"]
    assert _spec_entries("def f(frame_stride: int = 1, window: str) -> None:") == []
    assert len(_quoted_names(" ".join(f"'{n}'" for n in NAMES))) == len(NAMES)
