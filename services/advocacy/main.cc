// signpost-advocacy: wires config to the application, the directory import,
// the offer-expiry task, the event handler and the gRPC service.
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/calendar/working_calendar.h"
#include "common/log/log.h"
#include "common/reporting/reporting_service.h"
#include "common/service/host.h"
#include "services/advocacy/advocacy_app.h"
#include "services/advocacy/advocacy_handler.h"
#include "services/advocacy/advocacy_service.h"
#include "services/advocacy/advocacy_store.h"
#include "services/advocacy/directory_file.h"
#include "services/advocacy/figures.h"

int main(int argc, char** argv) {
  using namespace signpost;
  service::ServiceSpec spec{"advocacy",
                            "127.0.0.1:50053",
                            events::kAdvocacyTopic,
                            // Intake's for VictimErased only.
                            {events::kTriageTopic, events::kIntakeTopic},
                            advocacy::AdvocacyStore::Migrations()};
  return service::ServiceMain(
      argc, argv, spec,
      [](config::Config& config) {
        reporting::DefineFiguresFlags(config);
        config.DefineString(
            "directory_file", "",
            "providers and advocates to import at start (textproto "
            "signpost.v1.Directory); empty imports nothing");
        config.DefineInt(
            "offer_timeout_minutes", 24 * 60, 1, 30 * 24 * 60,
            "an offer not accepted in this time expires and is re-offered");
        config.DefineInt("expiry_scan_seconds", 30, 1, 3600,
                         "how often to look for expired offers");
        config.DefineInt("deadline_warning_minutes", 240, 1, 7 * 24 * 60,
                         "DeadlineApproaching fires this long before a "
                         "first-contact deadline");
        config.DefineString("time_zone", "Europe/London",
                            "the zone of victims' safe-contact windows and "
                            "of the working-day calendar");
        config.DefineString(
            "calendar_file", "",
            "bank-holiday calendar (deploy/calendar/england-and-wales.txt): "
            "the Victims' Code update clock",
            true);
      },
      [&](service::ServiceHost& host, const config::Config& config,
          grpcutil::Gate& gate) {
        const absl::Duration scan =
            absl::Seconds(config.GetInt("expiry_scan_seconds"));
        absl::TimeZone zone;
        if (!absl::LoadTimeZone(config.GetString("time_zone"), &zone)) {
          config::PrintConfigError(
              argv[0], absl::InvalidArgumentError(
                           absl::StrCat("time_zone: unknown zone '",
                                        config.GetString("time_zone"), "'")));
          return 2;
        }
        auto calendar = calendar::WorkingCalendar::Load(
            config.GetString("calendar_file"), config.GetString("time_zone"));
        if (!calendar.ok()) {
          config::PrintConfigError(
              argv[0], absl::InvalidArgumentError(absl::StrCat(
                           "calendar_file: ", calendar.status().message())));
          return 2;
        }
        advocacy::AdvocacyApp app(
            host.db(), host.person_keys(),
            {absl::Minutes(config.GetInt("offer_timeout_minutes")), scan, zone,
             absl::Minutes(config.GetInt("deadline_warning_minutes")),
             *calendar});
        if (absl::Status s = advocacy::ImportDirectoryFile(
                app, config.GetString("directory_file"));
            !s.ok()) {
          config::PrintConfigError(
              argv[0], absl::InvalidArgumentError(
                           absl::StrCat("directory_file: ", s.message())));
          return 2;
        }
        host.AddPeriodicTask(
            "offer-expiry", scan, [&app, &host](absl::Time now) {
              absl::Time next_due = app.ExpireOffers(now);
              // Erased notes leave the -wal file too.
              if (absl::Status s = app.CheckpointAfterErasure(); !s.ok()) {
                log::Warn("checkpoint after erasure failed",
                          {{"error", std::string(s.message())}});
              }
              host.relay().Notify();
              return next_due;
            });
        // The deadline watchdog: its marks are rows, so a restart neither
        // loses nor repeats a report.
        host.AddPeriodicTask(
            "deadline-watchdog", absl::Seconds(60),
            [&app, &host](absl::Time now) {
              absl::StatusOr<absl::Time> next = app.WatchDeadlines(now);
              if (!next.ok()) {
                log::Error("deadline watchdog failed",
                           {{"error", std::string(next.status().message())}});
                return now + absl::Seconds(30);
              }
              host.relay().Notify();
              return *next;
            });
        advocacy::AdvocacyHandler handler(app);
        advocacy::AdvocacyServiceImpl api(
            app, [&host] { host.relay().Notify(); }, gate);
        reporting::ReportingServiceImpl reporting(
            "advocacy", reporting::FiguresMinCount(config),
            [&host](const reporting::FigureQuery& q) {
              return advocacy::AdvocacyFigures(host.db(), q);
            },
            gate);
        host.SetReplayGuard(advocacy::AdvocacyStore::kReplayGuard);
        host.AddStoreMetric("signpost_waitlist_depth",
                            "assignments waiting for a place, by pathway",
                            metrics::Kind::kGauge,
                            &advocacy::AdvocacyStore::WaitlistDepth);
        host.AddStoreMetric("signpost_deadlines_missed_total",
                            "deadlines missed so far, by kind",
                            metrics::Kind::kCounter,
                            &advocacy::AdvocacyStore::DeadlinesMissed);
        return host.Run(
            {&api, &reporting},
            [&handler](const events::IncomingEvent& e, store::Tx& tx) {
              return handler.Handle(e, tx);
            });
      });
}
