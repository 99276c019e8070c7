// The verbs of the ltx2eff command. Each returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace ltx2eff::cli {

int run_plan(const std::vector<std::string>& args);
int run_presets(const std::vector<std::string>& args);
int run_thermal(const std::vector<std::string>& args);
int run_info(const std::vector<std::string>& args, const std::string& argv0);
// Verbs implemented in Python (demo, eval, ...): runs `python -m ltx2_efficient <verb> ...`.
int run_python_verb(const std::string& verb, const std::vector<std::string>& args,
                    const std::string& argv0);
// The same as a child process whose standard output is returned in `out`; returns its exit code
// (127 when the interpreter cannot be started).
int capture_python_verb(const std::string& verb, const std::vector<std::string>& args,
                        const std::string& argv0, std::string& out);

}  // namespace ltx2eff::cli
