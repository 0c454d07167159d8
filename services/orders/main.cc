// signpost-orders: wires config to the calendar, the orders application,
// its gRPC and event adapters, and the order-timer task.
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/calendar/working_calendar.h"
#include "common/log/log.h"
#include "common/reporting/reporting_service.h"
#include "common/service/host.h"
#include "services/orders/figures.h"
#include "services/orders/orders_app.h"
#include "services/orders/orders_handler.h"
#include "services/orders/orders_service.h"
#include "services/orders/orders_store.h"

int main(int argc, char** argv) {
  using namespace signpost;
  service::ServiceSpec spec{"orders",
                            "127.0.0.1:50054",
                            events::kOrdersTopic,
                            // Intake's for VictimErased (erasure).
                            {events::kTriageTopic, events::kIntakeTopic},
                            orders::OrdersMigrations()};
  return service::ServiceMain(
      argc, argv, spec,
      [](config::Config& config) {
        reporting::DefineFiguresFlags(config);
        config.DefineString(
            "calendar_file", "",
            "bank-holiday calendar (deploy/calendar/england-and-wales.txt)",
            true);
        config.DefineString("time_zone", "Europe/London",
                            "zone for the DAPN clock");
        config.DefineInt("expiring_warning_days", 14, 1, 365,
                         "OrderExpiring fires this many days before expiry");
        config.DefineInt(
            "review_hours", 24, 1, 24 * 14,
            "a consideration not decided within this time is overdue");
        config.DefineInt("timer_scan_seconds", 10, 1, 3600,
                         "how often due timers are fired");
      },
      [&](service::ServiceHost& host, const config::Config& config,
          grpcutil::Gate& gate) {
        auto calendar = calendar::WorkingCalendar::Load(
            config.GetString("calendar_file"), config.GetString("time_zone"));
        if (!calendar.ok()) {
          config::PrintConfigError(
              argv[0], absl::InvalidArgumentError(absl::StrCat(
                           "calendar_file: ", calendar.status().message())));
          return 2;
        }
        orders::OrdersApp::Options options;
        options.calendar = *calendar;
        options.person_keys = host.person_keys();
        options.expiring_warning_days =
            static_cast<int>(config.GetInt("expiring_warning_days"));
        options.review_window = absl::Hours(config.GetInt("review_hours"));
        orders::OrdersApp app(host.db(), options);
        orders::OrdersHandler handler(app);
        orders::OrderServiceImpl api(
            app, [&host] { host.relay().Notify(); }, gate);
        host.AddPeriodicTask(
            "order-timers", absl::Seconds(config.GetInt("timer_scan_seconds")),
            [&app, &host](absl::Time now) {
              absl::StatusOr<orders::TimerSweep> sweep = app.FireDueTimers(now);
              if (!sweep.ok()) {
                log::Warn("timer scan failed",
                          {{"error", std::string(sweep.status().message())}});
                return absl::InfiniteFuture();  // retry after the scan interval
              }
              if (sweep->fired > 0) {
                host.relay().Notify();
                log::Info("order timers fired", {{"count", sweep->fired}});
              }
              return sweep->next_due;
            });
        reporting::ReportingServiceImpl reporting(
            "orders", reporting::FiguresMinCount(config),
            [&host,
             zone = (*calendar)->zone()](const reporting::FigureQuery& q) {
              return orders::OrdersFigures(host.db(), zone, q);
            },
            gate);
        host.AddStoreMetric(
            "signpost_timers", "statutory timers not yet fired, by state",
            metrics::Kind::kGauge,
            [](store::Tx& tx) { return orders::TimerCounts(tx, absl::Now()); });
        host.AddStoreMetric("signpost_timers_fired_total",
                            "statutory timers fired, by kind",
                            metrics::Kind::kCounter, &orders::TimersFired);
        return host.Run(
            {&api, &reporting},
            [&handler](const events::IncomingEvent& e, store::Tx& tx) {
              return handler.Handle(e, tx);
            });
      });
}
