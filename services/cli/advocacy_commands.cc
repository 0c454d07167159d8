// AdvocacyService subcommands: the advocate's worklist and case steps, and
// the directory of providers and advocates.
#include <memory>

#include "services/cli/commands.h"
#include "signpost/v1/advocacy.grpc.pb.h"

namespace signpost::cli {
namespace {

using Stub = v1::AdvocacyService::Stub;

// `import-directory ADDR FILE`: the older spelling of `directory import`.
void AddLegacyImport(CLI::App& app, Cli& cli) {
  CLI::App* sub = app.add_subcommand(
      "import-directory",
      "ImportDirectory (older spelling of directory import)");
  sub->group("");  // hidden
  auto addr = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  sub->add_option("ADVOCACY_ADDR", *addr)->required();
  sub->add_option("FILE", *file)->required();
  OnRun(sub, cli, [&cli, addr, file]() {
    v1::ImportDirectoryRequest directory;
    if (absl::Status s = LoadMessageFile(*file, &directory); !s.ok()) {
      return cli.Fail("import-directory", std::string(s.message()), kExitUsage);
    }
    return CallAndPrint(cli, "import-directory", cli.Dial(*addr),
                        &Stub::ImportDirectory, directory);
  });
}

}  // namespace

void AddAdvocacyCommands(CLI::App& app, Cli& cli) {
  const RequestFlags::Options by_assignment =
      RequestFlags::ById("assignment_id");
  AddRpc(&app, cli, "worklist", "GetWorklist: an advocate's open assignments",
         Service::kAdvocacy, &Stub::GetWorklist);
  AddRpc(&app, cli, "accept", "AcceptAssignment", Service::kAdvocacy,
         &Stub::AcceptAssignment, by_assignment);
  AddRpc(&app, cli, "decline", "DeclineAssignment", Service::kAdvocacy,
         &Stub::DeclineAssignment, by_assignment);
  AddRpc(&app, cli, "contact", "RecordContact: a contact attempt",
         Service::kAdvocacy, &Stub::RecordContact, by_assignment);
  AddRpc(&app, cli, "update", "RecordUpdate: an update given to the victim",
         Service::kAdvocacy, &Stub::RecordUpdate, by_assignment);
  AddRpc(&app, cli, "close", "CloseCase", Service::kAdvocacy, &Stub::CloseCase,
         by_assignment);
  AddRpc(&app, cli, "capacity", "CheckCapacity: free advocates for a pathway",
         Service::kAdvocacy, &Stub::CheckCapacity);
  AddRpc(&app, cli, "assignments",
         "GetReferralAssignments: where a referral went", Service::kAdvocacy,
         &Stub::GetReferralAssignments, RequestFlags::ById("referral_id"));

  CLI::App* directory = app.add_subcommand(
      "directory", "the directory of providers and advocates");
  directory->require_subcommand(1);
  AddRpc(directory, cli, "import",
         "ImportDirectory: a whole directory file (all or nothing)",
         Service::kAdvocacy, &Stub::ImportDirectory,
         RequestFlags::Options().Flat().FileRequired());
  AddRpc(directory, cli, "advocates", "ListAdvocates", Service::kAdvocacy,
         &Stub::ListAdvocates);
  AddRpc(directory, cli, "availability", "SetAvailability: leave and windows",
         Service::kAdvocacy, &Stub::SetAvailability,
         RequestFlags::ById("advocate_id"));
  CLI::App* provider = directory->add_subcommand("provider", "one provider");
  provider->require_subcommand(1);
  AddRpc(provider, cli, "get", "GetProvider", Service::kAdvocacy,
         &Stub::GetProvider, RequestFlags::ById("provider_id"));
  AddRpc(provider, cli, "upsert", "UpsertProvider: from --file",
         Service::kAdvocacy, &Stub::UpsertProvider,
         RequestFlags::Options().Flat());
  CLI::App* advocate = directory->add_subcommand("advocate", "one advocate");
  advocate->require_subcommand(1);
  AddRpc(advocate, cli, "upsert", "UpsertAdvocate: from --file or flags",
         Service::kAdvocacy, &Stub::UpsertAdvocate);
  AddLegacyImport(app, cli);
}

}  // namespace signpost::cli
