// The verbs of the ltx2eff command. Each returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace ltx2eff::cli {

int run_plan(const std::vector<std::string>& args);
int run_presets(const std::vector<std::string>& args);
int run_thermal(const std::vector<std::string>& args);
// Verbs implemented in Python (demo, eval, ...): runs `python -m ltx2_efficient <verb> ...`.
int run_python_verb(const std::string& verb, const std::vector<std::string>& args,
                    const std::string& argv0);

}  // namespace ltx2eff::cli
