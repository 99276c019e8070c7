// `ltx2eff thermal hold`: runs a command under the governor. The command runs in its own process
// group, which is paused and resumed (SIGSTOP/SIGCONT) in short slices: in each period of
// --period seconds it runs for duty * period (the period grows when queued GPU work outlasts the
// pauses). Without NVML the command runs unpaced (or, with
// --require-nvml, not at all). POSIX only: Windows has no way to pause a process group safely.
#include <algorithm>
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
#include <fcntl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
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

#if !defined(_WIN32)

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

volatile std::sig_atomic_t g_signal = 0;

extern "C" void remember_signal(int sig) {
  g_signal = sig;
}

// The command's process group. Whatever happens, it is never left stopped.
class ChildGroup {
 public:
  explicit ChildGroup(pid_t pid) : pid_(pid) {}
  ChildGroup(const ChildGroup&) = delete;
  ChildGroup& operator=(const ChildGroup&) = delete;
  ~ChildGroup() { resume(); }

  void stop() {
    if (!stopped_ && !exited_) stopped_ = ::kill(-pid_, SIGSTOP) == 0;
  }
  void resume() {
    if (stopped_) {
      ::kill(-pid_, SIGCONT);
      stopped_ = false;
    }
  }
  void signal(int sig) {
    if (!exited_) ::kill(-pid_, sig);
  }
  // True once the command has exited; `code` is its exit status (128 + signal if killed).
  bool poll(int& code, bool block) {
    if (exited_) {
      code = code_;
      return true;
    }
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
    if (r == 0) return false;
    if (r < 0) {
      if (errno == EINTR) return false;
      code_ = 1;  // lost track of the child (ECHILD): nothing more to wait for
    } else if (WIFEXITED(status)) {
      code_ = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      code_ = 128 + WTERMSIG(status);
    } else {
      return false;
    }
    exited_ = true;
    stopped_ = false;
    code = code_;
    return true;
  }
  [[nodiscard]] bool stopped() const { return stopped_; }

 private:
  pid_t pid_;
  bool stopped_ = false;
  bool exited_ = false;
  int code_ = 0;
};

// fork + exec in a new process group; an exec failure comes back through a close-on-exec pipe.
pid_t spawn(const std::vector<std::string>& command, std::string& error) {
  int fds[2];
  if (::pipe(fds) != 0) {
    error = std::string("pipe: ") + std::strerror(errno);
    return -1;
  }
  ::fcntl(fds[1], F_SETFD, FD_CLOEXEC);
  std::vector<char*> argv;
  std::vector<std::string> copy = command;
  for (std::string& s : copy) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::cout.flush();
  std::cerr.flush();
  const pid_t pid = ::fork();
  if (pid < 0) {
    error = std::string("fork: ") + std::strerror(errno);
    ::close(fds[0]);
    ::close(fds[1]);
    return -1;
  }
  if (pid == 0) {
    ::close(fds[0]);
    ::setpgid(0, 0);
    // The parent's handlers must not survive into the command.
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGHUP, SIG_DFL);
    ::execvp(argv[0], argv.data());
    const int e = errno;
    ssize_t ignored = ::write(fds[1], &e, sizeof(e));
    (void)ignored;
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: no window where a signal reaches the wrong group
  ::close(fds[1]);
  int child_errno = 0;
  ssize_t n = 0;
  do {
    n = ::read(fds[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  ::close(fds[0]);
  if (n == static_cast<ssize_t>(sizeof(child_errno))) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    error = "cannot run '" + command[0] + "': " + std::strerror(child_errno);
    return -1;
  }
  return pid;
}

void sleep_seconds(double s) {
  if (s > 0.0) std::this_thread::sleep_for(std::chrono::duration<double>(s));
}

#endif

}  // namespace

int run_thermal_hold(const std::vector<std::string>& argv) {
  // Options end at "--"; everything after it is the command, untouched.
  std::vector<std::string> options;
  std::vector<std::string> command;
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
  const Args args(options, {"power", "temperature", "margin", "period", "device", "bus-id"},
                  {"require-nvml", "verbose", "simulate", "help"});
  if (args.flag("help").value_or(false)) {
    std::cout << hold_help();
    return 0;
  }
  GovernorConfig config;
  if (auto p = args.number("power")) {
    require_in_range("--power", *p, 0.1, 1.0);
    config.target_power_fraction = *p;
  }
  if (auto t = args.number("temperature")) {
    require_in_range("--temperature", *t, 30.0, 100.0);
    config.target_temperature_c = *t;
  }
  if (auto m = args.number("margin")) {
    require_in_range("--margin", *m, 1.0, 30.0);
    config.emergency_margin_c = *m;
  }
  double period = args.number("period").value_or(0.2);
  require_in_range("--period", period, 0.01, 1.0);
  if (command.empty()) throw UsageError("no command to run: put it after '--'");
  const bool verbose = args.flag("verbose").value_or(false);

#if defined(_WIN32)
  (void)period;
  (void)verbose;
  std::cerr << "ltx2eff thermal hold: not supported on Windows (pausing a process needs POSIX "
               "SIGSTOP/SIGCONT); use 'ltx2eff thermal watch', or pace in-process with the "
               "Python ThermalGuard\n";
  return 2;
#else
  ThermalSensorChoice choice = choose_thermal_sensor(args);
  ThermalGovernor governor(choice.sensor, config);
  if (!governor.available()) {
    if (args.flag("require-nvml").value_or(false)) {
      std::cerr << "ltx2eff thermal hold: NVML unavailable (" << governor.unavailable_reason()
                << "); not running the command (--require-nvml)\n";
      return 3;
    }
    std::cerr << "ltx2eff thermal hold: NVML unavailable (" << governor.unavailable_reason()
              << "); running the command unpaced\n";
  }

  struct sigaction action {};
  action.sa_handler = remember_signal;
  sigemptyset(&action.sa_mask);
  struct sigaction old_int {
  }, old_term{}, old_hup{};
  ::sigaction(SIGINT, &action, &old_int);
  ::sigaction(SIGTERM, &action, &old_term);
  ::sigaction(SIGHUP, &action, &old_hup);

  double now = monotonic_seconds();
  governor.start(now);
  if (governor.available()) {
    std::cerr << "ltx2eff thermal hold: " << governor.target_description() << " on "
              << governor.device() << "; pacing in " << fixed(period * 1000.0, 0)
              << " ms periods\n";
    for (const std::string& n : governor.notes())
      std::cerr << "ltx2eff thermal hold: " << n << "\n";
  }
  std::string error;
  const pid_t pid = spawn(command, error);
  if (pid < 0) {
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
    ::sigaction(SIGHUP, &old_hup, nullptr);
    std::cerr << "ltx2eff thermal hold: " << error << "\n";
    return 127;
  }

  int code = 0;
  {
    ChildGroup child(pid);
    bool forwarded = false;
    double last = now;
    double busy = 1.0;  // share of the last period the command ran (drives --simulate)
    double next_status = now + 1.0;
    double at_minimum_since = -1.0;  // the duty has sat at its minimum since then
    while (true) {
      now = monotonic_seconds();
      if (choice.simulated) choice.simulated->advance(std::max(0.0, now - last), busy);
      last = now;
      if (const int sig = g_signal; sig != 0) {
        g_signal = 0;
        forwarded = true;  // from now on the command runs unpaced until it exits
        child.resume();
        child.signal(sig);
      }
      const GovernorState& st = governor.update(now);
      double duty = 1.0;
      if (!forwarded && governor.governing()) duty = st.emergency ? 0.0 : st.duty;
      if (verbose && now >= next_status) {
        next_status += 1.0;
        std::cerr << "ltx2eff thermal hold: "
                  << (st.temperature_c ? fixed(*st.temperature_c, 0) + " C" : std::string("n/a"))
                  << ", "
                  << (st.measured_power_w ? fixed(*st.measured_power_w, 0) + " W"
                                          : std::string("n/a W"))
                  << ", duty " << fixed(duty, 2)
                  << (st.limiting.empty() ? std::string() : " [" + st.limiting + "]")
                  << (st.emergency ? " EMERGENCY PAUSE" : "") << "\n";
      }
      // At the minimum duty and still over the target: the command's queued GPU work outlasts
      // the pauses. Longer periods make the same queue a smaller share of each.
      if (governor.governing() && !forwarded && !st.emergency && duty <= config.min_duty + 1e-9) {
        if (at_minimum_since < 0.0) at_minimum_since = now;
        if (now - at_minimum_since >= 3.0 && period < 1.0) {
          period = std::min(1.0, 2.0 * period);
          at_minimum_since = -1.0;
          std::cerr << "ltx2eff thermal hold: the target is not held at the minimum duty (the "
                       "command's queued GPU work outlasts the pauses): pacing period lengthened "
                       "to "
                    << fixed(period * 1000.0, 0) << " ms\n";
        }
      } else {
        at_minimum_since = -1.0;
      }
      const double run_s = duty * period;
      if (run_s > 0.0) {
        child.resume();
        sleep_seconds(run_s);
      }
      if (child.poll(code, false)) break;
      if (duty < 1.0) {
        child.stop();
        const double t0 = monotonic_seconds();
        sleep_seconds(period - run_s);
        governor.record_pause(monotonic_seconds() - t0, st.emergency);
        if (child.poll(code, false)) break;
      }
      busy = duty;
    }
  }
  ::sigaction(SIGINT, &old_int, nullptr);
  ::sigaction(SIGTERM, &old_term, nullptr);
  ::sigaction(SIGHUP, &old_hup, nullptr);
  const ThermalReport report = governor.report(monotonic_seconds());
  std::cerr << "ltx2eff thermal hold: " << report.summary_line() << "; exit code " << code << "\n";
  return code;
#endif
}

}  // namespace ltx2eff::cli
