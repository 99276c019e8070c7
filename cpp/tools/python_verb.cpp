// Verbs that need torch (demo, eval) live in Python. The C++ command finds the interpreter of
// the environment it was installed into (its own directory), LTX2EFF_PYTHON, or python3 on PATH.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "commands.hpp"

#if defined(_WIN32)
#include <process.h>
#include <windows.h>
#else
#include <sys/wait.h>
#include <unistd.h>
#if defined(__APPLE__)
#include <mach-o/dyld.h>
#endif
#endif

namespace ltx2eff::cli {
namespace {

namespace fs = std::filesystem;

fs::path own_executable(const std::string& argv0) {
#if defined(_WIN32)
  wchar_t buf[32768];
  const DWORD n = GetModuleFileNameW(nullptr, buf, 32768);
  if (n > 0 && n < 32768) return fs::path(std::wstring(buf, n));
#elif defined(__APPLE__)
  char buf[4096];
  uint32_t size = sizeof(buf);
  if (_NSGetExecutablePath(buf, &size) == 0) return fs::path(buf);
#else
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) return self;
#endif
  return fs::path(argv0);
}

std::string find_python(const std::string& argv0) {
  if (const char* env = std::getenv("LTX2EFF_PYTHON"); env != nullptr && *env != '\0') return env;
  const fs::path dir = own_executable(argv0).parent_path();
#if defined(_WIN32)
  const char* names[] = {"python.exe", "..\\python.exe"};
#else
  const char* names[] = {"python3", "python"};
#endif
  for (const char* name : names) {
    std::error_code ec;
    const fs::path candidate = dir / name;
    if (fs::exists(candidate, ec)) return candidate.string();
  }
#if defined(_WIN32)
  return "python";
#else
  return "python3";
#endif
}

// One argument for the shell popen() runs: quoted so that paths with spaces survive.
std::string shell_quote(const std::string& arg) {
#if defined(_WIN32)
  std::string quoted = "\"";
  return quoted.append(arg).append("\"");
#else
  std::string quoted = "'";
  for (const char c : arg) quoted += (c == '\'' ? std::string("'\\''") : std::string(1, c));
  return quoted + "'";
#endif
}

}  // namespace

int capture_python_verb(const std::string& verb, const std::vector<std::string>& args,
                        const std::string& argv0, std::string& out) {
  std::string command = shell_quote(find_python(argv0));
  command.append(" -m ltx2_efficient ").append(verb);
  for (const std::string& arg : args) command.append(" ").append(shell_quote(arg));
  out.clear();
  std::cout.flush();
#if defined(_WIN32)
  FILE* pipe = _popen(command.c_str(), "r");
#else
  FILE* pipe = popen(command.c_str(), "r");
#endif
  if (pipe == nullptr) return 127;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof(buf), pipe)) > 0;) out.append(buf, n);
#if defined(_WIN32)
  const int status = _pclose(pipe);
  return status;
#else
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
#endif
}

int run_python_verb(const std::string& verb, const std::vector<std::string>& args,
                    const std::string& argv0) {
  const std::string python = find_python(argv0);
  std::vector<std::string> full = {python, "-m", "ltx2_efficient", verb};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> cargs;
  for (std::string& s : full) cargs.push_back(s.data());
  cargs.push_back(nullptr);
  std::cout.flush();
#if defined(_WIN32)
  const intptr_t rc = _spawnvp(_P_WAIT, python.c_str(), cargs.data());
  if (rc == -1) {
    std::cerr << "ltx2eff: cannot start " << python << " for '" << verb
              << "' (set LTX2EFF_PYTHON to the Python of the environment with ltx2_efficient)\n";
    return 2;
  }
  return static_cast<int>(rc);
#else
  execvp(python.c_str(), cargs.data());
  std::cerr << "ltx2eff: cannot start " << python << " for '" << verb
            << "' (set LTX2EFF_PYTHON to the Python of the environment with ltx2_efficient)\n";
  return 2;
#endif
}

}  // namespace ltx2eff::cli
