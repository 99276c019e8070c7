"""The knobs are defined once, in the C++ core's knob table (cpp/src/knobs.cpp with its header
cpp/include/ltx2eff/knobs.hpp): a second table anywhere else fails here. Everything else reads
``_core.knob_table()`` (the frontend through /ltx2eff/presets) or calls ``_core.check_knob``.

For every row of the table (name, aliases, min, max, choices) the scan reads the sources of the
Python package, bench/, scripts/, the frontend's sources and the C++ outside the table, and flags:

- a knob's range next to its name: both bounds as consecutive literals (``frame_stride=(1, 16)``,
  ``{frame_stride: [1,16]}``, ``"in [-1, 256]"``) or a bound as a ``min``/``max`` literal
  (``"window", min=-1``, ``"far_field": {"min": 0}``);
- a limit constant named after a knob holding a bound (``WINDOW_MAX = 256``, ``kMaxFarField{16}``);
- a literal list, tuple, set or union type of a knob's choices (``("lerp", "slerp", ...)``), or
  the choices spelled out in one string (``"one of auto bf16 fp16 fp32 fp8-far-field"``);
- a V3 node input of a knob with a literal range or options
  (``io.Int.Input("attention_window", min=-1, max=256)``);
- knob names used as keys of a spec (``"window": ("int", ...)``), a sentinel table, or a list of
  (all but one of) the knob names.

A value alone next to a knob's name is an override (``window=1``, ``{"far_field": 0}``: what eval
grids, benches and presets-plus-overrides set), not a table, and numbers away from a knob's name
are not read."""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from ltx2_efficient import _core

REPO = Path(__file__).resolve().parents[1]
ROOTS = ("python", "bench", "scripts", "frontend/src", "cpp")
# Tests check the table against literal expectations on purpose (tests/ is not scanned either).
TESTS = REPO / "cpp" / "tests"
SUFFIXES = {".py", ".sh", ".ts", ".tsx", ".js", ".mjs", ".vue", ".cpp", ".hpp", ".h", ".cu", ".cuh", ".in"}
# The table itself.
TABLE = {REPO / "cpp" / "src" / "knobs.cpp", REPO / "cpp" / "include" / "ltx2eff" / "knobs.hpp"}
# Frozen history, not a table of today's knobs: the widget layout of version 0.1.0's nodes, which
# loading a workflow saved by that version needs.
HISTORY = {REPO / "frontend" / "src" / "legacyWidgets.ts"}
ROWS = _core.knob_table()
NAMES = [row["name"] for row in ROWS] + [a for row in ROWS for a in row["aliases"]]

# Words that make an identifier holding a knob's name a limit of it (WINDOW_MAX, kMaxFarField).
LIMIT_WORDS = {"max", "min", "maximum", "minimum", "limit", "limits", "bound", "bounds", "range", "lo", "hi"}
FILLER_WORDS = {"k"}  # the C++ constant prefix
NEAR = 160  # characters after a knob's name that count as next to it
_LITERAL = (
    r"-?\s*(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)(?:\s*(?:<<|\*\*)\s*\d+)?[uUlLfF]*"
)
_NUMBER = rf"(?<![\w.])({_LITERAL})(?![\w.])"
_STRING = r"""(?:"[^"\n]*"|'[^'\n]*')"""


@dataclass(frozen=True)
class Knob:
    name: str
    forms: tuple[tuple[str, ...], ...]  # the name and its aliases, as identifier words
    lo: float | None
    hi: float | None
    choices: tuple[str, ...]


def _words(identifier: str) -> tuple[str, ...]:
    """``WINDOW_MAX`` -> (window, max); ``kMaxFarField`` -> (k, max, far, field)."""
    return tuple(p.lower() for p in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", identifier))


def _knobs() -> list[Knob]:
    return [
        Knob(
            row["name"],
            tuple(_words(n) for n in (row["name"], *row["aliases"])),
            None if row["min"] is None else float(row["min"]),
            None if row["max"] is None else float(row["max"]),
            tuple(row["choices"]),
        )
        for row in ROWS
    ]


KNOBS = _knobs()


def _value(literal: str) -> float | None:
    text = re.sub(r"\s+", "", literal).rstrip("uUlLfF")
    try:
        if "<<" in text:
            base, shift = text.split("<<")
            return float(int(base, 0) << int(shift))
        if "**" in text:
            base, power = text.split("**")
            return float(base) ** float(power)
        return float(int(text, 0)) if re.fullmatch(r"-?0[xX][0-9a-fA-F]+", text) else float(text)
    except ValueError:
        return None


def _span(words: tuple[str, ...], form: tuple[str, ...]) -> int:
    """Where ``form`` sits in ``words`` as a contiguous run, -1 if it does not."""
    for i in range(len(words) - len(form) + 1):
        if words[i : i + len(form)] == form:
            return i
    return -1


@functools.cache
def _classify(identifier: str) -> tuple[tuple[Knob, str], ...]:
    """(knob, "name") where the identifier is a knob's name or alias (any case convention),
    (knob, "limit") where it is the name plus limit words (``WINDOW_MAX``, ``kMaxWindow``)."""
    words = _words(identifier)
    found = []
    for knob in KNOBS:
        kinds = set()
        for form in knob.forms:
            at = _span(words, form)
            extra = set(words[:at] + words[at + len(form) :]) if at >= 0 else None
            if extra == set():
                kinds.add("name")
            elif extra and extra & LIMIT_WORDS and extra <= LIMIT_WORDS | FILLER_WORDS:
                kinds.add("limit")
        if kinds:
            found.append((knob, "name" if "name" in kinds else "limit"))
    return tuple(found)


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _range_copies(text: str, defined: set[str]) -> list[tuple[int, str]]:
    """Bounds next to a knob's name (see the module docstring); ``defined`` are C++ constants the
    table itself is built from, whose definitions are the table's."""
    mentions = []  # (offset, end, knob, kind, identifier)
    for m in re.finditer(r"[A-Za-z_][A-Za-z0-9_]*", text):
        for knob, kind in _classify(m.group()):
            mentions.append((m.start(), m.end(), knob, kind, m.group()))
    found = []
    for i, (start, end, knob, kind, identifier) in enumerate(mentions):
        if knob.lo is None or knob.hi is None:
            continue
        stop = min(end + NEAR, len(text))
        for later in itertools.islice(mentions, i + 1, None):
            if later[0] >= stop:
                break
            if later[2] is not knob:  # the next knob's text is about that knob
                stop = later[0]
                break
        near = text[end:stop]
        line_start = text.rfind("\n", 0, start) + 1
        before = text[line_start:start]
        where = _line(text, start)
        for a, b in re.findall(rf"{_NUMBER}\s*(?:,|\.\.)\s*{_NUMBER}", near):
            if (_value(a), _value(b)) == (knob.lo, knob.hi):
                found.append((where, f"the range [{a}, {b}] of {knob.name} next to its name"))
        for part in (before, near):
            for key, literal in re.findall(
                rf"""\b(min|max|minimum|maximum)\b['"]?\s*[:=]\s*{_NUMBER}""", part, re.IGNORECASE
            ):
                bound = knob.lo if key.lower().startswith("min") else knob.hi
                if _value(literal) == bound:
                    found.append((where, f"{key}={literal.strip()} of {knob.name} next to its name"))
        if kind == "limit" and identifier not in defined:
            assigned = re.match(rf"\s*(?::\s*[A-Za-z_][\w\[\], .|]*?\s*)?(?:=(?!=)|:|\{{)\s*{_NUMBER}", near)
            if assigned and _value(assigned.group(1)) in (knob.lo, knob.hi):
                found.append((where, f"{identifier} = {assigned.group(1).strip()}, a bound of {knob.name}"))
    return found


def _choice_copies(text: str) -> list[tuple[int, str]]:
    """Literal collections or strings spelling out a knob's choices."""
    found = []
    groups = [
        (m.start(), re.findall(_STRING, m.group()))
        for m in re.finditer(rf"[(\[{{]\s*(?:{_STRING}\s*,\s*)+{_STRING}\s*,?\s*[)\]}}]", text)
    ]
    groups += [
        (m.start(), re.findall(_STRING, m.group()))
        for m in re.finditer(rf"{_STRING}(?:\s*\|\s*{_STRING})+", text)
    ]
    for offset, quoted in groups:
        values = {q[1:-1] for q in quoted}
        for knob in KNOBS:
            if knob.choices and set(knob.choices) <= values and len(values) <= len(knob.choices) + 2:
                found.append((_line(text, offset), f"a literal list of the choices of {knob.name}"))
    for knob in KNOBS:
        if len(knob.choices) < 2:
            continue
        spelled = r"[\s,|/]+".join(re.escape(c) for c in knob.choices)
        for m in re.finditer(rf"(?<![\w-]){spelled}(?![\w-])", text):
            found.append((_line(text, m.start()), f"the choices of {knob.name} spelled out"))
    return found


def _call_arguments(text: str, open_paren: int) -> str:
    depth = 0
    for i in range(open_paren, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return text[open_paren : i + 1]
    return text[open_paren:]


def _node_inputs(text: str) -> list[tuple[int, str]]:
    """``io.Int/Float/Combo.Input("<knob>", ...)`` with a literal min, max or options."""
    names = "|".join(map(re.escape, NAMES))
    found = []
    for m in re.finditer(rf"""io\.(?:Int|Float|Combo)\.Input\(\s*(['"])({names})\1""", text):
        arguments = _call_arguments(text, m.start() + m.group().index("("))
        literal = rf"""\b(min|max|options)\s*=\s*(?:{_NUMBER}|[\[(]\s*(?:{_STRING}|{_LITERAL}))"""
        for key in re.finditer(literal, arguments):
            found.append((_line(text, m.start()), f"node input {m.group(2)} with a literal {key.group(1)}"))
    return found


def _spec_entries(text: str) -> list[str]:
    """Knob names used as a key whose value is a (type, options) spec, an options object or a
    type name (``"window": ("int", ...)``, ``"far_field": {"min": ...}``), and sentinel tables:
    three or more knob names mapped to negative numbers (``frame_stride: -1, window: -2``).
    Plain override values (``{"window": 2}``, ``"window": {"window": 2}``: what eval grids,
    benches and tests set) are no table."""
    names = "|".join(map(re.escape, NAMES))
    key = rf"""(['"]?)\b({names})\1\s*:\s*"""
    type_name = r"""['"](?:int|float|bool|choice|INT|FLOAT|BOOLEAN|COMBO)['"]"""
    spec_key = r"""\{[^{}]*?['"]?\b(?:type|min|max|default|options|choices|step|help|unit)\b['"]?\s*:"""
    specs = [m.group(2) for m in re.finditer(key + rf"(?:\(\s*{type_name}|{type_name}|{spec_key})", text)]
    negatives = [m.group(2) for m in re.finditer(key + r"-\d", text)]
    return specs + (negatives if len(set(negatives)) >= 3 else [])


def _quoted_names(text: str) -> set[str]:
    return {name for name in NAMES if re.search(rf"""['"]{re.escape(name)}['"]""", text)}


def table_constants() -> set[str]:
    """C++ constants the table's rows are built from (``.max = kMaxWindow``): their definitions
    are the table's, wherever they sit."""
    text = "".join(path.read_text() for path in TABLE)
    return set(re.findall(r"\bk[A-Z]\w*", text))


def scan(text: str, defined: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Every second-table finding in one source text, as "line N: what"."""
    findings = _range_copies(text, set(defined)) + _choice_copies(text) + _node_inputs(text)
    lines = [f"line {n}: {what}" for n, what in sorted(set(findings))]
    entries = _spec_entries(text)
    if entries:
        lines.append(f"knob specs for {sorted(set(entries))}")
    quoted = _quoted_names(text)
    if len(quoted) >= len(ROWS) - 1:  # all knobs, or all but one
        lines.append(f"lists {len(quoted)} knob names")
    return lines


def sources() -> list[Path]:
    found = []
    for root in ROOTS:
        for path in sorted((REPO / root).rglob("*")):
            if (
                path.is_file()
                and path.suffix in SUFFIXES
                and path not in TABLE | HISTORY
                and TESTS not in path.parents
            ):
                found.append(path)
    return found


def test_no_second_knob_table_anywhere():
    paths = sources()
    assert (
        len(paths) > 150 and any(p.suffix == ".cpp" for p in paths) and any(p.suffix == ".ts" for p in paths)
    )
    defined = table_constants()
    assert "kMaxWindow" in defined
    problems = [
        f"{path.relative_to(REPO)}: {finding}"
        for path in paths
        for finding in scan(path.read_text(), defined)
    ]
    assert not problems, "a second knob table (read _core.knob_table() instead):\n" + "\n".join(problems)


def test_the_table_has_what_the_scan_reads():
    by_name = {k.name: k for k in KNOBS}
    assert (by_name["window"].lo, by_name["window"].hi) == (_core.WINDOW_OFF, _core.MAX_WINDOW)
    assert by_name["window"].forms == (("window",), ("attention", "window"))
    assert by_name["interpolation"].choices and by_name["precision"].choices


PLANTED = {  # a copy -> the knob its finding names
    # The four copies that slipped past the first version of this check.
    'io.Int.Input("attention_window", min=-1, max=256)': "window",
    "WINDOW_MAX = 256": "window",
    "dict(frame_stride=(1,16))": "frame_stride",
    "{frame_stride: [1,16]}": "frame_stride",
    # Other spellings of the same copies.
    'io.Combo.Input("interpolation", options=["lerp", "slerp"])': "interpolation",
    'io.Float.Input(\n    "reuse_threshold",\n    default=0.0,\n    max=10.0,\n)': "reuse_threshold",
    "constexpr int kMaxFarField = 16;": "far_field",
    "export const MAX_FRAME_STRIDE: number = 16;": "frame_stride",
    "ACTIVATION_BUDGET_MB_MAX = 1 << 20": "activation_budget_mb",
    'raise ValueError(f"window must be an integer in [-1, 256], got {w}")': "window",
    '"far_field": {\n    "type": "int",\n    "min": 0,\n    "max": 16,\n}': "far_field",
    "windowRange = [-1, 256]": "window",
    'METHODS = ("lerp", "slerp", "motion", "upsampler")': "interpolation",
    "PRECISIONS = [\n    'auto',\n    'bf16',\n    'fp16',\n    'fp32',\n    'fp8-far-field',\n]": "precision",
    'type Mode = "preset" | "refine" | "bottleneck";': "keyframe_mode",
    'help="precision: one of auto bf16 fp16 fp32 fp8-far-field"': "precision",
    '{"window": ("int", "K")}': "window",
}


def test_the_scan_flags_planted_copies():
    for text, knob in PLANTED.items():
        found = scan(text)
        assert found, f"not flagged: {text!r}"
        assert any(knob in f for f in found), (text, found)


def test_the_scan_leaves_overrides_and_unrelated_numbers_alone():
    clean = [
        '{"window": -1, "far_field": 0}',  # overrides at the bounds
        "settings = EfficientSettings.from_preset('off', window=256, frame_stride=16)",
        "AttentionCall(grid, -1, 0, False, 16)",
        "MAX_WINDOW_TOKENS = 256",  # not a limit of the window knob
        "MAX_WINDOW = _core.MAX_WINDOW",
        'io.Int.Input("window", min=row["min"], max=row["max"], default=row["default"])',
        'io.Combo.Input("interpolation", options=list(row["choices"]))',
        "steps = (1, 16)\nlayers = [0, 16]",  # a range, but of nothing named like a knob
        "x = torch.linspace(0, 1, 5)",
        'SUBSETS = ("all", "own_frame", "other_frames")',
        '_CAST = {"fp32": torch.float32, "bf16": torch.bfloat16}',
        '"""method: "lerp", "slerp", "motion" or "upsampler"."""',
        "def f(frame_stride: int = 1, window: int = -1) -> None:",
        '{"window": -1, "far_field": 4}',
        'TECHNIQUES = {"window": {"window": 2, "anchor_frame": True}, "far_field": (2, 4)}',
    ]
    for text in clean:
        assert scan(text) == [], (text, scan(text))


def test_constants_the_table_is_built_from_are_the_tables():
    text = "inline constexpr int kMaxWindow = 256;"
    assert scan(text, {"kMaxWindow"}) == []
    assert scan(text) != []
