// ltx2eff: plans, benchmarks and tools of the LTX-2 efficient sampler.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "args.hpp"
#include "commands.hpp"
#include "ltx2eff/error.hpp"
#include "ltx2eff/version.hpp"

namespace {

constexpr const char* kUsage = R"(usage: ltx2eff <command> [options]

commands:
  plan       what a preset does to a request and what it should cost (C++ cost model)
  presets    the named presets and their knob values
  thermal    watch GPU temperature/power, or run a command under the thermal governor
  demo       generate with the embedded demo model: dense vs every preset, with a report
  eval       grid over the knobs on the demo model; writes the speed/fidelity Pareto table
  info       what this installation built (kernels, CUDA architectures) and can run here
  version    print the version

Run 'ltx2eff <command> --help' for a command's options.
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace ltx2eff::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string verb = args[0];
  args.erase(args.begin());
  try {
    if (verb == "plan") return run_plan(args);
    if (verb == "presets") return run_presets(args);
    if (verb == "thermal") return run_thermal(args);
    if (verb == "info") return run_info(args, argv[0]);
    if (verb == "version" || verb == "--version") {
      if (!args.empty()) {
        std::cerr << "ltx2eff version: takes no arguments, got '" << args[0] << "'\n";
        return 2;
      }
      std::cout << "ltx2eff " << ltx2eff::kVersion << "\n";
      return 0;
    }
    if (verb == "demo" || verb == "eval") return run_python_verb(verb, args, argv[0]);
    std::cerr << "ltx2eff: unknown command '" << verb << "' (see ltx2eff --help)\n";
    return 2;
  } catch (const UsageError& e) {
    std::cerr << "ltx2eff " << verb << ": " << e.what() << " (see ltx2eff " << verb << " --help)\n";
    return 2;
  } catch (const ltx2eff::InvalidArgument& e) {
    std::cerr << "ltx2eff " << verb << ": " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ltx2eff " << verb << ": error: " << e.what() << "\n";
    return 1;
  }
}
