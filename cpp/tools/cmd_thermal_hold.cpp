// `ltx2eff thermal hold`: runs a command under the governor. The command runs in its own process
// group, which is paused and resumed (SIGSTOP/SIGCONT) in short slices: in each period of
// --period seconds it runs for duty * period (the period grows when queued GPU work outlasts the
// pauses). Without NVML the command runs unpaced (or, with
// --require-nvml, not at all). POSIX only: Windows has no way to pause a process group safely.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "args.hpp"
#include "ltx2eff/error.hpp"
#include "ltx2eff/thermal_governor.hpp"
#include "thermal_cli.hpp"

#if !defined(_WIN32)
#include <csignal>

#include "child_group.hpp"
#endif

namespace ltx2eff::cli {
namespace {

std::string hold_help() {
  return std::string(
             R"(usage: ltx2eff thermal hold [--power F] [--temperature C] [options] -- CMD ARGS...

Runs CMD under the thermal/power governor and returns its exit code. CMD runs in its own
process group, paused and resumed (SIGSTOP/SIGCONT) in short slices: in every period it runs
for duty x period, the duty coming from the governor's PI loops. Near the GPU's slowdown
threshold (within --margin) it is paused outright until the GPU has cooled. At the end a
summary line gives the energy, average and peak power and temperature, and the time paced.

GPU work the command has already queued keeps running while its process is paused, so each
pause is shortened by up to the command's queue depth (the GPU work it launches between two
synchronisations): the period must be several times longer than that. When the governor has
cut the duty to its minimum for 3 s and still cannot hold the target, the period is doubled (up
to 1 s) and a line says so. In-process pacing between steps (the Python ThermalGuard) has no
such delay. Processes that leave CMD's process group are not paused.
CMD cannot read the terminal (its process group is not the terminal's foreground group): when
it tries, it is stopped with SIGTTIN and hold ends it; give it its input from a file. When
something else stops CMD (kill -STOP), pacing waits until it is continued. Ctrl-C, SIGTERM and
SIGHUP are passed to CMD (continued first if stopped); a second one kills it.
Without NVML the command runs unpaced, after a line saying so (--require-nvml refuses instead).
POSIX only.

targets (either or both; neither: measure only):
  --power F             hold average power at F x the enforced power limit, F in [0.1, 1]
  --temperature C       hold the GPU at or below C degrees, in [30, 100]

options:
  --margin C            pause outright within C degrees of the slowdown threshold, in [1, 30]
                        (default 5)
  --period S            pacing period in seconds, in [0.01, 1] (default 0.2)
  --require-nvml        exit with status 3 without running CMD when NVML is unavailable
  --verbose             a status line per second on stderr
)") + kThermalDeviceHelp +
         "  --help                this text\n";
}

// Options end at "--"; everything after it is the command, untouched.
void split_at_separator(const std::vector<std::string>& argv, std::vector<std::string>& options,
                        std::vector<std::string>& command) {
  bool seen_separator = false;
  for (const std::string& a : argv) {
    if (!seen_separator && a == "--") {
      seen_separator = true;
    } else if (seen_separator) {
      command.push_back(a);
    } else {
      options.push_back(a);
    }
  }
}

struct HoldSettings {
  GovernorConfig config;
  double period = 0.2;
  bool verbose = false;
  bool require_nvml = false;
};

HoldSettings hold_settings(const Args& args, const std::vector<std::string>& command) {
  HoldSettings s;
  if (auto p = args.number("power")) {
    require_in_range("--power", *p, 0.1, 1.0);
    s.config.target_power_fraction = *p;
  }
  if (auto t = args.number("temperature")) {
    require_in_range("--temperature", *t, 30.0, 100.0);
    s.config.target_temperature_c = *t;
  }
  if (auto m = args.number("margin")) {
    require_in_range("--margin", *m, 1.0, 30.0);
    s.config.emergency_margin_c = *m;
  }
  s.period = args.number("period").value_or(0.2);
  require_in_range("--period", s.period, 0.01, 1.0);
  if (command.empty()) throw UsageError("no command to run: put it after '--'");
  s.verbose = args.flag("verbose").value_or(false);
  s.require_nvml = args.flag("require-nvml").value_or(false);
  return s;
}

#if !defined(_WIN32)

constexpr const char* kPrefix = "ltx2eff thermal hold: ";
constexpr double kEndingGraceS = 5.0;  // after hold itself asked the command to end
constexpr double kPollS = 0.02;

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

void sleep_seconds(double s) {
  if (s > 0.0) std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

volatile std::sig_atomic_t g_signal = 0;
volatile std::sig_atomic_t g_signal_count = 0;

extern "C" void remember_signal(int sig) {
  g_signal = sig;
  g_signal_count = g_signal_count + 1;
}

// Ctrl-C, SIGTERM and SIGHUP are remembered while hold runs and restored afterwards.
class SignalCatcher {
 public:
  SignalCatcher() {
    struct sigaction action {};
    action.sa_handler = remember_signal;
    sigemptyset(&action.sa_mask);
    for (std::size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &action, &old_[i]);
  }
  SignalCatcher(const SignalCatcher&) = delete;
  SignalCatcher& operator=(const SignalCatcher&) = delete;
  ~SignalCatcher() {
    for (std::size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &old_[i], nullptr);
  }

 private:
  static constexpr std::array<int, 3> kSignals{SIGINT, SIGTERM, SIGHUP};
  std::array<struct sigaction, 3> old_{};
};

// Runs the command to its end: pacing it in periods, watching for stops by others, and ending
// it when asked. Each period: run for duty x period, then pause for the rest.
class HoldLoop {
 public:
  HoldLoop(ThermalGovernor& governor, ThermalSensorChoice& choice, const HoldSettings& settings,
           pid_t pid)
      : governor_(governor),
        choice_(choice),
        config_(settings.config),
        period_(settings.period),
        verbose_(settings.verbose),
        child_(pid) {}

  int run() {
    double now = monotonic_seconds();
    last_ = now;
    next_status_ = now + 1.0;
    while (!child_.exited()) {
      if (watch_child()) break;  // first: a report of hold's own pause is read while paused
      take_signal();
      if (ending_) {
        finish_ending();
      } else if (child_.foreign_stop() != 0) {
        sleep_seconds(kPollS);  // someone else holds it stopped: wait for SIGCONT or a signal
      } else {
        pace_one_period();
      }
    }
    return child_.exit_code();
  }

 private:
  // A caught signal: the first is passed on, the next one kills.
  void take_signal() {
    const int sig = g_signal;
    const int count = g_signal_count;
    if (count == handled_signals_) return;
    handled_signals_ = count;
    if (!ending_ || !user_ending_) {
      std::cerr << kPrefix << signal_name(sig)
                << ": passing it to the command (another one kills it)\n";
      child_.end(sig);
      ending_ = true;
      user_ending_ = true;
      kill_at_ = -1.0;
    } else {
      std::cerr << kPrefix << signal_name(sig) << " again: killing the command\n";
      child_.kill();
    }
  }

  // True once the command has exited.
  bool watch_child() {
    switch (child_.poll()) {
      case ChildEvent::kExited:
        return true;
      case ChildEvent::kStoppedByOther:
        on_foreign_stop(child_.foreign_stop());
        break;
      case ChildEvent::kContinued:
        if (!ending_) std::cerr << kPrefix << "the command was continued; pacing resumes\n";
        break;
      case ChildEvent::kNone:
        break;
    }
    return child_.exited();
  }

  void on_foreign_stop(int sig) {
    if (ending_) {
      std::cerr << kPrefix << "the command stopped (" << signal_name(sig)
                << ") instead of ending: killing it\n";
      child_.kill();
    } else if (sig == SIGTTIN || sig == SIGTTOU) {
      std::cerr << kPrefix << "the command was stopped by " << signal_name(sig)
                << ": it used the terminal, which it cannot from its own process group (give it "
                   "its input from a file, e.g. < /dev/null); ending it\n";
      child_.end(SIGTERM);
      ending_ = true;
      kill_at_ = monotonic_seconds() + kEndingGraceS;
    } else {
      std::cerr << kPrefix << "the command was stopped by " << signal_name(sig)
                << " (not by hold): pacing waits until it is continued (SIGCONT); Ctrl-C or "
                   "SIGTERM ends it\n";
    }
  }

  // The command was asked to end: it runs unpaced; hold kills it past its deadline, if any.
  void finish_ending() {
    if (kill_at_ >= 0.0 && monotonic_seconds() >= kill_at_) {
      std::cerr << kPrefix << "the command did not end within " << fixed(kEndingGraceS, 0)
                << " s: killing it\n";
      child_.kill();
      kill_at_ = -1.0;
    }
    sleep_seconds(kPollS);
  }

  void pace_one_period() {
    const double now = monotonic_seconds();
    if (choice_.simulated) choice_.simulated->advance(std::max(0.0, now - last_), busy_);
    last_ = now;
    const GovernorState& st = governor_.update(now);
    const double duty = governor_.governing() ? (st.emergency ? 0.0 : st.duty) : 1.0;
    print_status(now, st, duty);
    lengthen_period_if_stuck(now, st, duty);
    const double run_s = duty * period_;
    if (run_s > 0.0) {
      child_.resume();
      sleep_seconds(run_s);
    }
    busy_ = duty;
    if (duty >= 1.0 || watch_child() || g_signal_count != handled_signals_) return;
    if (child_.foreign_stop() != 0) return;
    child_.pause();
    const double t0 = monotonic_seconds();
    sleep_seconds(period_ - run_s);
    governor_.record_pause(monotonic_seconds() - t0, st.emergency);
  }

  void print_status(double now, const GovernorState& st, double duty) {
    if (!verbose_ || now < next_status_) return;
    next_status_ += 1.0;
    std::cerr << kPrefix
              << (st.temperature_c ? fixed(*st.temperature_c, 0) + " C" : std::string("n/a"))
              << ", "
              << (st.measured_power_w ? fixed(*st.measured_power_w, 0) + " W"
                                      : std::string("n/a W"))
              << ", duty " << fixed(duty, 2)
              << (st.limiting.empty() ? std::string() : " [" + st.limiting + "]")
              << (st.emergency ? " EMERGENCY PAUSE" : "") << "\n";
  }

  // At the minimum duty and still over the target: the command's queued GPU work outlasts the
  // pauses. Longer periods make the same queue a smaller share of each.
  void lengthen_period_if_stuck(double now, const GovernorState& st, double duty) {
    if (!governor_.governing() || st.emergency || duty > config_.min_duty + 1e-9) {
      at_minimum_since_ = -1.0;
      return;
    }
    if (at_minimum_since_ < 0.0) at_minimum_since_ = now;
    if (now - at_minimum_since_ < 3.0 || period_ >= 1.0) return;
    period_ = std::min(1.0, 2.0 * period_);
    at_minimum_since_ = -1.0;
    std::cerr << kPrefix
              << "the target is not held at the minimum duty (the command's queued GPU work "
                 "outlasts the pauses): pacing period lengthened to "
              << fixed(period_ * 1000.0, 0) << " ms\n";
  }

  ThermalGovernor& governor_;
  ThermalSensorChoice& choice_;
  GovernorConfig config_;
  double period_;
  bool verbose_;
  ChildGroup child_;
  double last_ = 0.0;
  double busy_ = 1.0;  // share of the last period the command ran (drives --simulate)
  double next_status_ = 0.0;
  double at_minimum_since_ = -1.0;  // the duty has sat at its minimum since then
  int handled_signals_ = 0;
  bool ending_ = false;       // the command was asked to end: no more pacing
  bool user_ending_ = false;  // ... by a signal to hold (the next one kills)
  double kill_at_ = -1.0;     // when hold asked, the deadline before SIGKILL
};

// Says whether the governor can pace; false when the command must not run (--require-nvml).
bool announce_governor(const ThermalGovernor& governor, const HoldSettings& settings) {
  if (!governor.available()) {
    if (settings.require_nvml) {
      std::cerr << kPrefix << "NVML unavailable (" << governor.unavailable_reason()
                << "); not running the command (--require-nvml)\n";
      return false;
    }
    std::cerr << kPrefix << "NVML unavailable (" << governor.unavailable_reason()
              << "); running the command unpaced\n";
    return true;
  }
  std::cerr << kPrefix << governor.target_description() << " on " << governor.device()
            << "; pacing in " << fixed(settings.period * 1000.0, 0) << " ms periods\n";
  for (const std::string& n : governor.notes()) std::cerr << kPrefix << n << "\n";
  return true;
}

#endif

}  // namespace

int run_thermal_hold(const std::vector<std::string>& argv) {
  std::vector<std::string> options;
  std::vector<std::string> command;
  split_at_separator(argv, options, command);
  const Args args(options, {"power", "temperature", "margin", "period", "device", "bus-id"},
                  {"require-nvml", "verbose", "simulate", "help"});
  if (args.flag("help").value_or(false)) {
    std::cout << hold_help();
    return 0;
  }
  const HoldSettings settings = hold_settings(args, command);

#if defined(_WIN32)
  std::cerr << "ltx2eff thermal hold: not supported on Windows (pausing a process needs POSIX "
               "SIGSTOP/SIGCONT); use 'ltx2eff thermal watch', or pace in-process with the "
               "Python ThermalGuard\n";
  return 2;
#else
  ThermalSensorChoice choice = choose_thermal_sensor(args);
  ThermalGovernor governor(choice.sensor, settings.config);
  if (!announce_governor(governor, settings)) return 3;
  const SignalCatcher signals;
  g_signal_count = 0;
  governor.start(monotonic_seconds());
  std::string error;
  const pid_t pid = spawn_in_own_group(command, error);
  if (pid < 0) {
    std::cerr << kPrefix << error << "\n";
    return 127;
  }
  const int code = HoldLoop(governor, choice, settings, pid).run();
  const ThermalReport report = governor.report(monotonic_seconds());
  std::cerr << kPrefix << report.summary_line() << "; exit code " << code << "\n";
  return code;
#endif
}

}  // namespace ltx2eff::cli
