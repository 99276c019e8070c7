// The knob table, Knobs and the presets. Every Knobs attribute is made from its table row, and
// every Python value goes through one converter, so a bad value of any type or size (2**63,
// 10**1000, 1e20, "2", True) gives the row's ValueError, never a binding TypeError.
#include <nanobind/nanobind.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/string_view.h>
#include <nanobind/stl/vector.h>

#include <cstdint>
#include <string>

#include "bindings.hpp"
#include "ltx2eff/knobs.hpp"
#include "ltx2eff/presets.hpp"

namespace nb = nanobind;
using namespace nb::literals;

namespace ltx2eff::py {

std::string shown(nb::handle value) {
  constexpr std::size_t kMaxShownChars = 80;
  if (PyLong_Check(value.ptr()) && !PyBool_Check(value.ptr())) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(value.ptr(), &overflow);
    if (overflow != 0)
      return overflow > 0 ? "an integer of more than 63 bits"
                          : "a negative integer of more than 63 bits";
    return std::to_string(v);
  }
  std::string text;
  try {
    text = nb::cast<std::string>(nb::repr(value));
  } catch (const std::exception&) {
    PyErr_Clear();
    text = "a " + nb::cast<std::string>(nb::str(nb::handle(Py_TYPE(value.ptr())).attr("__name__")));
  }
  if (text.size() > kMaxShownChars) text = text.substr(0, kMaxShownChars) + "...";
  return text;
}

namespace {

// Python value -> the row's number (choices: their index); rejects wrong types with the row's
// message. Integral floats are integers (JSON sends 24.0).
double number_of(const KnobRow& row, nb::handle value) {
  PyObject* obj = value.ptr();
  switch (row.type) {
    case KnobType::kChoice:
      if (!PyUnicode_Check(obj)) row.reject(shown(value));
      return row.choice_index(nb::cast<std::string>(value));
    case KnobType::kBool:
      if (!PyBool_Check(obj)) row.reject(shown(value));
      return obj == Py_True ? 1.0 : 0.0;
    case KnobType::kInt:
    case KnobType::kFloat:
      break;
  }
  if (PyBool_Check(obj)) row.reject(shown(value));
  if (PyLong_Check(obj)) {
    int overflow = 0;
    const long long v = PyLong_AsLongLongAndOverflow(obj, &overflow);
    if (overflow != 0 || static_cast<double>(v) < row.min || static_cast<double>(v) > row.max) {
      row.reject(shown(value));
    }
    return static_cast<double>(v);
  }
  if (PyFloat_Check(obj)) return PyFloat_AsDouble(obj);
  row.reject(shown(value));
}

nb::object python_value(const KnobRow& row, double v) {
  switch (row.type) {
    case KnobType::kInt:
      return nb::int_(static_cast<std::int64_t>(v));
    case KnobType::kFloat:
      return nb::float_(v);
    case KnobType::kBool:
      return nb::bool_(v != 0.0);
    case KnobType::kChoice:
      return nb::str(row.format(v).c_str());
  }
  return nb::none();
}

nb::object python_value(const KnobRow& row, const KnobValue& v) {
  return row.type == KnobType::kChoice ? nb::str(std::string(v.choice).c_str())
                                       : python_value(row, v.number);
}

void set_from_python(Knobs& knobs, const KnobRow& row, nb::handle value) {
  const double number = number_of(row, value);
  row.check(number);
  row.set(knobs, number);
}

nb::dict row_to_dict(const KnobRow& row) {
  nb::dict d;
  d["name"] = std::string(row.name);
  d["type"] = std::string(to_string(row.type));
  const bool numeric = row.type == KnobType::kInt || row.type == KnobType::kFloat;
  d["min"] = numeric ? python_value(row, row.min) : nb::none();
  d["max"] = numeric ? python_value(row, row.max) : nb::none();
  d["step"] = numeric ? python_value(row, row.step) : nb::none();
  nb::list choices;
  for (std::string_view c : row.choices) choices.append(std::string(c));
  d["choices"] = choices;
  d["unit"] = std::string(row.unit);
  d["help"] = std::string(row.help);
  d["allowed"] = row.allowed();
  d["default"] = python_value(row, row.fallback);
  nb::dict presets;
  for (const std::string& p : preset_names())
    presets[p.c_str()] = python_value(row, row.preset_value(p));
  d["presets"] = presets;
  // The distilled regime's values where a row gives the preset one of its own.
  nb::dict distilled;
  for (const std::string& p : preset_names()) {
    const std::string key = preset_key(p, Regime::kDistilled);
    distilled[p.c_str()] =
        python_value(row, row.preset_value(row.sets_preset(key) ? std::string_view(key) : p));
  }
  d["distilled_presets"] = distilled;
  nb::list aliases;
  for (std::string_view a : row.aliases) aliases.append(std::string(a));
  d["aliases"] = aliases;
  return d;
}

nb::dict knobs_to_dict(const Knobs& knobs) {
  nb::dict d;
  for (const KnobRow& row : knob_table())
    d[std::string(row.name).c_str()] = python_value(row, row.get(knobs));
  return d;
}

// Knobs: one Python attribute per row of the table.
void bind_knobs_class(nb::module_& m) {
  nb::enum_<Interpolation>(m, "Interpolation")
      .value("LERP", Interpolation::kLerp)
      .value("SLERP", Interpolation::kSlerp)
      .value("MOTION", Interpolation::kMotion)
      .value("UPSAMPLER", Interpolation::kUpsampler);
  nb::enum_<Precision>(m, "Precision")
      .value("AUTO", Precision::kAuto)
      .value("BF16", Precision::kBf16)
      .value("FP16", Precision::kFp16)
      .value("FP32", Precision::kFp32)
      .value("FP8_FAR_FIELD", Precision::kFp8FarField);

  auto knobs = nb::class_<Knobs>(m, "Knobs",
                                 "Concrete knob values of the efficient sampler; one attribute per "
                                 "row of knob_table() (choices as their names).");
  knobs.def(nb::init<>()).def_rw("attention", &Knobs::attention);
  for (const KnobRow& row : knob_table()) {
    const KnobRow* r = &row;  // the table is static: rows outlive the module
    knobs.def_prop_rw(
        row.name.data(), [r](const Knobs& k) { return python_value(*r, r->get(k)); },
        [r](Knobs& k, nb::handle v) { set_from_python(k, *r, v); },
        nb::for_setter(nb::arg("value").none()));
  }
  knobs.def_prop_ro("reuse_enabled", &Knobs::reuse_enabled)
      .def("validate", [](const Knobs& k) { validate_knobs(k); })
      .def("to_dict", &knobs_to_dict, "Every knob's value by name, in the table's order.")
      .def("__copy__", [](const Knobs& k) { return k; });
}

void bind_knob_functions(nb::module_& m) {
  m.def(
      "knob_table",
      [] {
        nb::list rows;
        for (const KnobRow& row : knob_table()) rows.append(row_to_dict(row));
        return rows;
      },
      "One dict per knob: name, type, min, max, step, choices, unit, help, allowed, default "
      "(the value of presets that do not set it), presets (every preset's value), aliases.");
  m.def(
      "knob_name", [](std::string_view name) { return std::string(find_knob(name).name); },
      "name_or_alias"_a, "The knob's own name for a name or an alias; ValueError if unknown.");
  m.def(
      "set_knob",
      [](Knobs& k, std::string_view name, nb::handle value) {
        set_from_python(k, find_knob(name), value);
      },
      "knobs"_a, "name"_a, "value"_a.none(),
      "Set one knob by name or alias; ValueError naming the knob and its range when not allowed.");
  m.def(
      "check_knob",
      [](std::string_view name, nb::handle value) {
        const KnobRow& row = find_knob(name);
        row.check(number_of(row, value));
      },
      "name"_a, "value"_a.none(), "ValueError naming the knob and its range unless allowed.");
  m.def("validate_knobs", &validate_knobs, "knobs"_a);
  m.def("parse_interpolation", &parse_interpolation, "name"_a);
  m.def("parse_precision", &parse_precision, "name"_a);
  m.def(
      "interpolation_name", [](Interpolation v) { return to_string(v); }, "value"_a);
  m.def(
      "precision_name", [](Precision v) { return to_string(v); }, "value"_a);
  m.attr("MIN_COMPUTED_START_SHARE") = kMinComputedStartShare;
  m.attr("MAX_DENSE_BLOCKS") = kMaxDenseBlocks;
  m.attr("HEAD_RECALL_SAMPLES_PER_FRAME") = kHeadRecallSamplesPerFrame;
  m.def("head_recall_samples", &head_recall_samples, "frame_tokens"_a,
        "Queries sampled per latent frame of frame_tokens tokens to measure head-wise windows.");
}

void bind_preset_functions(nb::module_& m) {
  m.def("preset_names", &preset_names);
  m.def(
      "resolve_preset",
      [](std::string_view name, std::string_view regime) {
        return resolve_preset(name, parse_regime(regime));
      },
      "name"_a, "regime"_a = "dev", "The knob values of a named preset in a regime.");
  m.def(
      "describe_preset",
      [](std::string_view name, std::string_view regime) {
        return describe_preset(name, parse_regime(regime));
      },
      "name"_a, "regime"_a = "dev");
  m.def(
      "regime_for",
      [](int steps, int calls_per_step) { return to_string(regime_for(steps, calls_per_step)); },
      "steps"_a, "calls_per_step"_a,
      "'distilled' for at most DISTILLED_MAX_STEPS steps with one call per step, else 'dev'.");
  m.attr("DISTILLED_MAX_STEPS") = kDistilledMaxSteps;
}

}  // namespace

void bind_knobs(nb::module_& m) {
  bind_knobs_class(m);
  bind_knob_functions(m);
  bind_preset_functions(m);
}

}  // namespace ltx2eff::py
