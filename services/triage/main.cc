// signpost-triage: wires config to the policy, app, handler and service.
#include "common/log/log.h"
#include "common/reporting/reporting_service.h"
#include "common/service/host.h"
#include "services/triage/figures.h"
#include "services/triage/marac_app.h"
#include "services/triage/marac_service.h"
#include "services/triage/policy.h"
#include "services/triage/triage_app.h"
#include "services/triage/triage_handler.h"
#include "services/triage/triage_service.h"
#include "services/triage/triage_store.h"

int main(int argc, char** argv) {
  using namespace signpost;
  service::ServiceSpec spec{"triage",
                            "127.0.0.1:50052",
                            events::kTriageTopic,
                            {events::kIntakeTopic},
                            triage::TriageStore::Migrations()};
  return service::ServiceMain(
      argc, argv, spec,
      [](config::Config& config) {
        reporting::DefineFiguresFlags(config);
        config.DefineString(
            "policy_file", "",
            "routing policy (textproto signpost.v1.TriagePolicy)", true);
        config.DefineString(
            "calendar_file", "",
            "bank-holiday calendar (deploy/calendar/england-and-wales.txt)",
            true);
      },
      [&](service::ServiceHost& host, const config::Config& config,
          grpcutil::Gate& gate) {
        absl::StatusOr<std::shared_ptr<const triage::Policy>> policy =
            triage::LoadPolicy(config.GetString("policy_file"),
                               config.GetString("calendar_file"));
        if (!policy.ok()) {
          config::PrintConfigError(argv[0], policy.status());
          return 2;
        }
        log::Info("policy loaded", {{"policy_version", (*policy)->version()}});
        triage::TriageApp app(host.db(), *policy, host.person_keys());
        triage::TriageHandler handler(app);
        triage::TriageServiceImpl api(
            app, [&host] { host.relay().Notify(); }, gate);
        reporting::ReportingServiceImpl reporting(
            "triage", reporting::FiguresMinCount(config),
            [&host](const reporting::FigureQuery& q) {
              return triage::TriageFigures(host.db(), q);
            },
            gate);
        triage::MaracApp marac(host.db(), host.authorizer().registry());
        triage::MaracServiceImpl marac_api(
            marac, [&host] { host.relay().Notify(); }, gate);
        host.SetReplayGuard(triage::TriageStore::kReplayGuard);
        return host.Run(
            {&api, &reporting, &marac_api},
            [&handler](const events::IncomingEvent& e, store::Tx& tx) {
              return handler.Handle(e, tx);
            });
      });
}
