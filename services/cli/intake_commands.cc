// IntakeService subcommands.
#include <memory>

#include "services/cli/commands.h"
#include "signpost/v1/intake.grpc.pb.h"

namespace signpost::cli {
namespace {

using Stub = v1::IntakeService::Stub;

// `submit [--file] FILE` (also the older `submit ADDR FILE`): submits as the
// agency the referral names as referrer_org when the PKI holds its
// certificate and --as chose no other, since intake records a referral as
// its caller's.
void AddSubmit(CLI::App& app, Cli& cli) {
  CLI::App* sub = app.add_subcommand(
      "submit", "SubmitReferral: a referral from a text-format or JSON file");
  auto request = std::make_shared<v1::SubmitReferralRequest>();
  auto flags = std::make_shared<RequestFlags>(sub, request.get(),
                                              RequestFlags::Options().Flat());
  auto args = std::make_shared<std::vector<std::string>>();
  sub->add_option("FILE", *args, "the request file ([INTAKE_ADDR] FILE)")
      ->expected(0, 2);
  OnRun(sub, cli, [&cli, request, flags, args]() {
    std::string addr = cli.Address(Service::kIntake);
    if (args->size() == 2) addr = (*args)[0];
    if (!args->empty()) {
      if (absl::Status s = LoadMessageFile(args->back(), request.get());
          !s.ok()) {
        return cli.Fail("submit", std::string(s.message()), kExitUsage);
      }
    }
    if (absl::Status bad = flags->Apply(); !bad.ok()) {
      return cli.Fail("submit", std::string(bad.message()), kExitUsage);
    }
    if (!request->has_referral()) {
      return cli.Fail("submit", "give the referral: submit FILE or --file FILE",
                      kExitUsage);
    }
    return CallAndPrint(cli, "submit",
                        cli.DialAs(addr, request->referral().referrer_org()),
                        &Stub::SubmitReferral, *request);
  });
}

}  // namespace

void AddIntakeCommands(CLI::App& app, Cli& cli) {
  const RequestFlags::Options by_referral = RequestFlags::ById("referral_id");
  AddSubmit(app, cli);
  AddRpc(&app, cli, "get", "GetReferral: the referral as the caller may see it",
         Service::kIntake, &Stub::GetReferral, by_referral);
  AddRpc(&app, cli, "consent", "UpdateConsent: a pathway's consent",
         Service::kIntake, &Stub::UpdateConsent, by_referral);
  AddRpc(&app, cli, "cancel", "CancelReferral: the victim withdrew",
         Service::kIntake, &Stub::CancelReferral, by_referral);
  AddRpc(&app, cli, "rj-consent",
         "RecordRjConsent: restorative-justice consent of one party",
         Service::kIntake, &Stub::RecordRjConsent, by_referral);
  AddRpc(&app, cli, "erase", "EraseVictim: erase the victim's personal data",
         Service::kIntake, &Stub::EraseVictim, by_referral);
  AddRpc(&app, cli, "stalled",
         "ListStalled: referrals stuck between services now", Service::kIntake,
         &Stub::ListStalled, RequestFlags::ByArea());
}

}  // namespace signpost::cli
