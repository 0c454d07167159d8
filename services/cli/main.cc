// signpost-cli: the operators' and the demo's gRPC client, a subcommand per
// RPC family (docs/cli.md). This file only wires the families together and
// turns a parse error into a message and exit code 2.
#include <cstdio>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_join.h"
#include "services/cli/cli.h"
#include "services/cli/commands.h"

namespace {

using namespace signpost::cli;

constexpr char kFooter[] =
    "Every subcommand has --help. Environment: SIGNPOST_AS, SIGNPOST_PKI_DIR, "
    "SIGNPOST_<SERVICE>_ADDR (a flag and its variable must agree).\n"
    "Exit codes: 0 done; 1 the command ran and found a problem (an audit "
    "break, a service not SERVING, a referral not routed); 2 a usage error; "
    "3 the call was refused (INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED, "
    "FAILED_PRECONDITION, ...); 4 the call failed for now and may be retried "
    "(UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED).";

// The deepest subcommand the parse reached.
const CLI::App* Deepest(const CLI::App& app) {
  const CLI::App* at = &app;
  while (true) {
    std::vector<const CLI::App*> chosen =
        at->get_subcommands([](const CLI::App* sub) { return sub->parsed(); });
    if (chosen.empty()) return at;
    at = chosen.front();
  }
}

// A parse error, said plainly: an unknown word where a subcommand belongs
// is named as an unknown command.
int UsageError(const CLI::App& app, const CLI::ParseError& error) {
  const CLI::App* at = Deepest(app);
  // A word the subcommand did not take falls through to its parents.
  std::vector<std::string> rest = app.remaining(true);
  const std::string path = CommandPath(at);
  if (!at->get_subcommands({}).empty() && !rest.empty() &&
      !rest.front().empty() && rest.front()[0] != '-') {
    std::fprintf(stderr, "signpost-cli: unknown command '%s%s%s'\n",
                 path.c_str(), path.empty() ? "" : " ", rest.front().c_str());
  } else {
    std::fprintf(stderr, "signpost-cli%s%s: %s\n", path.empty() ? "" : " ",
                 path.c_str(), error.what());
  }
  std::fprintf(stderr, "run 'signpost-cli%s%s --help' for usage\n",
               path.empty() ? "" : " ", path.c_str());
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Signpost's command-line client: a subcommand per RPC family.",
               "signpost-cli");
  app.footer(kFooter);
  app.set_version_flag("--version",
                       std::string("signpost-cli ") + SIGNPOST_VERSION);
  app.require_subcommand(1);
  // The global flags may also follow the subcommand.
  app.fallthrough();
  Cli cli;
  cli.AddGlobalFlags(app);
  AddIntakeCommands(app, cli);
  AddTriageCommands(app, cli);
  AddAdvocacyCommands(app, cli);
  AddOrderCommands(app, cli);
  AddNotificationCommands(app, cli);
  AddReportCommands(app, cli);
  AddAuditCommands(app, cli);
  AddOperatorCommands(app, cli);
  AddDemoCommands(app, cli);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return UsageError(app, e);
  }
  if (absl::Status s = cli.Resolve(); !s.ok()) {
    std::fprintf(stderr, "signpost-cli: %s\n",
                 std::string(s.message()).c_str());
    return kExitUsage;
  }
  if (!cli.action) {
    std::fprintf(stderr, "signpost-cli %s: give a subcommand (--help)\n",
                 CommandPath(Deepest(app)).c_str());
    return kExitUsage;
  }
  return cli.action();
}
