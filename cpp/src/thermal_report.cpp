#include "ltx2eff/thermal_report.hpp"

#include <algorithm>
#include <cstdio>
#include <string>

#include "ltx2eff/json_writer.hpp"

namespace ltx2eff {

void ThermalRunStats::start(double now) {
  *this = ThermalRunStats{};
  started_ = true;
  start_s_ = now;
  last_s_ = now;
}

void ThermalRunStats::add(double now, const ThermalReading& reading) {
  if (!started_) start(now);
  const double dt = std::max(0.0, now - last_s_);
  // The previous reading holds until this one (time-weighted averages).
  if (last_) {
    if (last_->temperature_c) {
      temperature_integral_ += *last_->temperature_c * dt;
      temperature_time_s_ += dt;
    }
    if (last_->power_w) {
      power_integral_j_ += *last_->power_w * dt;
      power_time_s_ += dt;
    }
  }
  if (reading.temperature_c) {
    peak_temperature_c_ =
        std::max(peak_temperature_c_.value_or(*reading.temperature_c), *reading.temperature_c);
  }
  if (reading.power_w) {
    peak_power_w_ = std::max(peak_power_w_.value_or(*reading.power_w), *reading.power_w);
  }
  if (reading.energy_j) {
    if (!first_energy_j_) first_energy_j_ = reading.energy_j;
    last_energy_j_ = reading.energy_j;
  }
  if (reading.clock_event_reasons) reasons_ |= *reading.clock_event_reasons;
  last_ = reading;
  last_s_ = now;
  ++samples_;
}

void ThermalRunStats::add_paced(double seconds, bool emergency) {
  if (seconds <= 0.0) return;
  paced_s_ += seconds;
  if (emergency) emergency_s_ += seconds;
}

void ThermalRunStats::fill(double now, ThermalReport& report) const {
  report.duration_s = started_ ? std::max(0.0, now - start_s_) : 0.0;
  report.samples = samples_;
  report.work_units = work_units_;
  report.paced_s = paced_s_;
  report.emergency_s = emergency_s_;
  report.emergency_pauses = emergency_pauses_;
  // Pauses we asked for show up as "idle": only the reasons seen while working are news.
  report.clock_event_reasons = reasons_ & ~clock_event::kGpuIdle;
  report.clock_event_names = clock_event_reason_names(report.clock_event_reasons);
  report.peak_power_w = peak_power_w_;
  report.peak_temperature_c = peak_temperature_c_;
  if (temperature_time_s_ > 0.0) {
    report.average_temperature_c = temperature_integral_ / temperature_time_s_;
  } else if (last_ && last_->temperature_c) {
    report.average_temperature_c = last_->temperature_c;
  }
  report.energy_j.reset();
  report.average_power_w.reset();
  const double counted = last_s_ - start_s_;
  if (first_energy_j_ && last_energy_j_ && *last_energy_j_ >= *first_energy_j_ && counted > 0.0) {
    report.energy_j = *last_energy_j_ - *first_energy_j_;
    report.energy_from_counter = true;
    report.average_power_w = *report.energy_j / counted;
  } else if (power_time_s_ > 0.0) {
    report.energy_j = power_integral_j_;
    report.energy_from_counter = false;
    report.average_power_w = power_integral_j_ / power_time_s_;
  }
}

namespace {

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

void optional_field(JsonWriter& j, const char* name, const std::optional<double>& v) {
  j.key(name);
  if (v) {
    j.value(*v);
  } else {
    j.null();
  }
}

}  // namespace

std::string ThermalReport::summary_line() const {
  if (!available) return "not paced (" + unavailable_reason + ")";
  std::string s = target + " on " + device + ": " + fixed(duration_s, 1) + " s";
  if (energy_j) {
    s += ", " +
         (*energy_j >= 10000.0 ? fixed(*energy_j / 1000.0, 2) + " kJ" : fixed(*energy_j, 1) + " J");
  }
  if (average_power_w) {
    s += ", power avg " + fixed(*average_power_w, 0) + " W";
    if (peak_power_w) s += " (peak " + fixed(*peak_power_w, 0) + " W)";
  }
  if (average_temperature_c) {
    s += ", temperature avg " + fixed(*average_temperature_c, 1) + " C";
    if (peak_temperature_c) s += " (peak " + fixed(*peak_temperature_c, 0) + " C)";
  }
  s += ", paced " + fixed(paced_s, 1) + " s (" + fixed(100.0 * paced_share(), 0) + "%)";
  if (emergency_pauses > 0) {
    s += ", " + std::to_string(emergency_pauses) + " emergency pause(s) " + fixed(emergency_s, 1) +
         " s";
  }
  s += ", throttle: " + describe_clock_event_reasons(clock_event_reasons);
  for (const std::string& note : notes) s += "; " + note;
  return s;
}

std::string ThermalReport::to_json() const {
  JsonWriter j;
  j.begin_object();
  j.field("available", available);
  j.field("unavailable_reason", unavailable_reason);
  j.field("device", device).field("target", target);
  j.field("duration_s", duration_s);
  optional_field(j, "energy_j", energy_j);
  j.field("energy_from_counter", energy_from_counter);
  optional_field(j, "average_power_w", average_power_w);
  optional_field(j, "peak_power_w", peak_power_w);
  optional_field(j, "average_temperature_c", average_temperature_c);
  optional_field(j, "peak_temperature_c", peak_temperature_c);
  j.field("paced_s", paced_s).field("emergency_s", emergency_s);
  j.field("emergency_pauses", emergency_pauses);
  j.field("work_units", work_units).field("samples", samples);
  j.key("clock_event_reasons").begin_array();
  for (const std::string& n : clock_event_names) j.value(n);
  j.end_array();
  j.key("notes").begin_array();
  for (const std::string& n : notes) j.value(n);
  j.end_array();
  j.end_object();
  return j.str();
}

}  // namespace ltx2eff
