// TriageService and MaracService subcommands.
#include "services/cli/commands.h"
#include "signpost/v1/marac.grpc.pb.h"
#include "signpost/v1/triage.grpc.pb.h"

namespace signpost::cli {

void AddTriageCommands(CLI::App& app, Cli& cli) {
  using Triage = v1::TriageService::Stub;
  using Marac = v1::MaracService::Stub;
  const RequestFlags::Options by_referral = RequestFlags::ById("referral_id");
  AddRpc(&app, cli, "decision", "GetDecision: the referral's triage decision",
         Service::kTriage, &Triage::GetDecision, by_referral);
  AddRpc(&app, cli, "reassess",
         "Reassess: a new assessment (--request FILE) or incident time",
         Service::kTriage, &Triage::Reassess, by_referral);
  AddRpc(&app, cli, "override", "OverrideRisk: a practitioner's risk level",
         Service::kTriage, &Triage::OverrideRisk, by_referral);
  // `marac` alone is the agenda (ListMaracAgenda); its subcommands are the
  // meetings (MaracService, served by triage).
  CLI::App* marac = AddRpc(
      &app, cli, "marac",
      "ListMaracAgenda: referrals awaiting MARAC; subcommands: "
      "meetings",
      Service::kTriage, &Triage::ListMaracAgenda, RequestFlags::ByArea());
  const RequestFlags::Options by_meeting = RequestFlags::ById("meeting_id");
  AddRpc(marac, cli, "schedule", "ScheduleMeeting", Service::kTriage,
         &Marac::ScheduleMeeting, RequestFlags::ByArea());
  AddRpc(marac, cli, "meetings", "ListMeetings", Service::kTriage,
         &Marac::ListMeetings, RequestFlags::ByArea());
  AddRpc(marac, cli, "meeting", "GetMeeting", Service::kTriage,
         &Marac::GetMeeting, by_meeting);
  AddRpc(marac, cli, "heard", "MarkHeard: a referral was heard",
         Service::kTriage, &Marac::MarkHeard, by_meeting);
  AddRpc(marac, cli, "allocate", "AllocateAction: an action to an agency",
         Service::kTriage, &Marac::AllocateAction, by_meeting);
  AddRpc(marac, cli, "complete", "CompleteAction", Service::kTriage,
         &Marac::CompleteAction, RequestFlags::ById("action_id"));
  AddRpc(marac, cli, "close", "CloseMeeting", Service::kTriage,
         &Marac::CloseMeeting, by_meeting);
}

}  // namespace signpost::cli
