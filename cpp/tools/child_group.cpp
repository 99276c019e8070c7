#include "child_group.hpp"

#if !defined(_WIN32)

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <iostream>

namespace ltx2eff::cli {

void ChildGroup::pause() {
  if (!paused_ && !exited_ && foreign_stop_ == 0) paused_ = ::kill(-pid_, SIGSTOP) == 0;
}

void ChildGroup::resume() {
  if (paused_) {
    ::kill(-pid_, SIGCONT);
    paused_ = false;
  }
}

void ChildGroup::signal(int sig) {
  if (!exited_) ::kill(-pid_, sig);
}

void ChildGroup::end(int sig) {
  paused_ = false;
  signal(sig);
  signal(SIGCONT);  // a stopped process only acts on the signal once continued
}

void ChildGroup::kill() {
  signal(SIGKILL);
}

ChildEvent ChildGroup::poll() {
  while (!exited_) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG | WUNTRACED | WCONTINUED);
    if (r == 0) return ChildEvent::kNone;
    if (r < 0) {
      if (errno == EINTR) continue;
      code_ = 1;  // lost track of the child (ECHILD): nothing more to wait for
      exited_ = true;
    } else if (WIFEXITED(status)) {
      code_ = WEXITSTATUS(status);
      exited_ = true;
    } else if (WIFSIGNALED(status)) {
      code_ = 128 + WTERMSIG(status);
      exited_ = true;
    } else if (WIFSTOPPED(status)) {
      const int sig = WSTOPSIG(status);
      if (paused_ && sig == SIGSTOP) continue;  // hold's own pause
      foreign_stop_ = sig;
      return ChildEvent::kStoppedByOther;
    } else if (WIFCONTINUED(status)) {
      if (foreign_stop_ == 0) continue;  // hold's own resume
      foreign_stop_ = 0;
      return ChildEvent::kContinued;
    }
  }
  paused_ = false;
  foreign_stop_ = 0;
  return ChildEvent::kExited;
}

pid_t spawn_in_own_group(const std::vector<std::string>& command, std::string& error) {
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
    for (const int sig : {SIGINT, SIGTERM, SIGHUP}) ::signal(sig, SIG_DFL);
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

std::string signal_name(int sig) {
  switch (sig) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    case SIGSTOP:
      return "SIGSTOP";
    case SIGTSTP:
      return "SIGTSTP";
    case SIGTTIN:
      return "SIGTTIN";
    case SIGTTOU:
      return "SIGTTOU";
    default:
      return "signal " + std::to_string(sig);
  }
}

}  // namespace ltx2eff::cli

#endif
