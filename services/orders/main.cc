// signpost-orders: wires config to the calendar, orders store, handler,
// timer scheduler and gRPC service.
#include "common/calendar/working_calendar.h"
#include "common/service/host.h"
#include "services/orders/orders_handler.h"
#include "services/orders/orders_service.h"
#include "services/orders/orders_store.h"
#include "services/orders/timer_scheduler.h"

int main(int argc, char** argv) {
  using namespace signpost;
  service::ServiceSpec spec{"orders",
                            "127.0.0.1:50054",
                            events::kOrdersTopic,
                            {events::kTriageTopic},
                            orders::OrdersStore::Migrations()};
  return service::ServiceMain(
      argc, argv, spec,
      [](config::Config& config) {
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
          grpcutil::Executor& executor) {
        auto calendar = calendar::WorkingCalendar::Load(
            config.GetString("calendar_file"), config.GetString("time_zone"));
        if (!calendar.ok()) {
          config::PrintConfigError(
              argv[0], absl::InvalidArgumentError(absl::StrCat(
                           "calendar_file: ", calendar.status().message())));
          return 2;
        }
        orders::OrdersStore::Options options;
        options.calendar = *calendar;
        options.expiring_warning_days =
            static_cast<int>(config.GetInt("expiring_warning_days"));
        options.review_window = absl::Hours(config.GetInt("review_hours"));
        orders::OrdersStore store(host.db(), options);
        orders::OrdersHandler handler(store, host.relay());
        orders::OrderServiceImpl api(store, host.relay(), executor);
        orders::TimerScheduler timers(
            store, host.relay(),
            absl::Seconds(config.GetInt("timer_scan_seconds")));
        timers.Start();
        int code = host.Run({&api}, [&handler](const events::IncomingEvent& e) {
          return handler.Handle(e);
        });
        timers.Stop();
        return code;
      });
}
