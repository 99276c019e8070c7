// The command `ltx2eff thermal hold` runs: a child in its own process group, which hold pauses
// and resumes. It tells hold's own pauses apart from stops by anyone else (a terminal read from
// the background group stops it with SIGTTIN, `kill -STOP` with SIGSTOP). POSIX only.
#pragma once

#if !defined(_WIN32)

#include <sys/types.h>

#include <string>
#include <vector>

namespace ltx2eff::cli {

enum class ChildEvent {
  kNone,            // nothing new
  kExited,          // exited or was killed: exit_code() says how
  kStoppedByOther,  // stopped by a signal hold did not send: foreign_stop() says which
  kContinued,       // continued after such a stop
};

class ChildGroup {
 public:
  explicit ChildGroup(pid_t pid) : pid_(pid) {}
  ChildGroup(const ChildGroup&) = delete;
  ChildGroup& operator=(const ChildGroup&) = delete;
  ~ChildGroup() { resume(); }  // hold never leaves the group paused

  void pause();   // SIGSTOP to the group (not while someone else holds it stopped)
  void resume();  // SIGCONT, only when hold paused it
  void signal(int sig);
  // Passes `sig` on and wakes the group so that a stopped command receives it.
  void end(int sig);
  void kill();  // SIGKILL to the group

  // The next change of state, without blocking.
  ChildEvent poll();
  [[nodiscard]] bool exited() const { return exited_; }
  [[nodiscard]] int exit_code() const { return code_; }  // 128 + signal when killed
  [[nodiscard]] int foreign_stop() const { return foreign_stop_; }
  [[nodiscard]] bool paused() const { return paused_; }

 private:
  pid_t pid_;
  bool paused_ = false;   // by hold
  int foreign_stop_ = 0;  // the signal that stopped it when it was not hold's SIGSTOP
  bool exited_ = false;
  int code_ = 0;
};

// fork + exec of `command` in a new process group; -1 with `error` set when it cannot run.
pid_t spawn_in_own_group(const std::vector<std::string>& command, std::string& error);

// "SIGTTIN", "SIGSTOP", ... or "signal N".
std::string signal_name(int sig);

}  // namespace ltx2eff::cli

#endif
