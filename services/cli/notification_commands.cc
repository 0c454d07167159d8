// NotificationService and OutboxService subcommands: deliveries, the
// partner event stream, and replays.
#include <memory>

#include "absl/time/clock.h"
#include "services/cli/commands.h"
#include "signpost/v1/notification.grpc.pb.h"
#include "signpost/v1/outbox.grpc.pb.h"

namespace signpost::cli {
namespace {

using Notification = v1::NotificationService::Stub;

// Reads a server stream, printing each message as it comes, until `count`
// messages (0: no limit) or `duration` (zero: no limit) passed; either end
// is success.
template <typename Stub, typename Request, typename Response>
int StreamAndPrint(Cli& cli, const std::string& what,
                   const std::shared_ptr<grpc::Channel>& channel,
                   std::unique_ptr<grpc::ClientReader<Response>> (
                       Stub::*method)(grpc::ClientContext*, const Request&),
                   const Request& request, int count, absl::Duration duration) {
  Stub stub(channel);
  grpc::ClientContext ctx;
  if (duration > absl::ZeroDuration()) cli.SetDeadline(&ctx, duration);
  std::unique_ptr<grpc::ClientReader<Response>> reader =
      (stub.*method)(&ctx, request);
  Response response;
  int read = 0;
  while ((count == 0 || read < count) && reader->Read(&response)) {
    cli.printer().Print(response);
    ++read;
  }
  if (count > 0 && read == count) {
    ctx.TryCancel();
    reader->Finish().IgnoreError();
    return kExitOk;
  }
  grpc::Status status = reader->Finish();
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED &&
      duration > absl::ZeroDuration()) {
    return kExitOk;  // --for elapsed: the requested stop
  }
  if (!status.ok()) return cli.Fail(what, status);
  return kExitOk;
}

void AddSubscribe(CLI::App& app, Cli& cli) {
  CLI::App* sub = app.add_subcommand(
      "subscribe",
      "Subscribe: the caller's partner events as they happen (NDJSON with -o "
      "json), until --count events or --for seconds");
  auto request = std::make_shared<v1::SubscribeRequest>();
  auto flags = std::make_shared<RequestFlags>(sub, request.get(),
                                              RequestFlags::Options());
  auto count = std::make_shared<int>(0);
  auto seconds = std::make_shared<double>(0);
  sub->add_option("--count", *count, "stop after this many events (0: never)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  sub->add_option("--for", *seconds, "stop after this many seconds (0: never)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  OnRun(sub, cli, [&cli, request, flags, count, seconds]() {
    if (absl::Status bad = flags->Apply(); !bad.ok()) {
      return cli.Fail("subscribe", std::string(bad.message()), kExitUsage);
    }
    return StreamAndPrint(cli, "subscribe", cli.Dial(Service::kNotification),
                          &Notification::Subscribe, *request, *count,
                          absl::Seconds(*seconds));
  });
}

// `replay`: OutboxService.ReplayOutbox on each service whose address was
// given (every service when none was); `replay deliveries`:
// NotificationService.ReplayDeliveries.
void AddReplay(CLI::App& app, Cli& cli) {
  CLI::App* replay = app.add_subcommand(
      "replay",
      "ReplayOutbox: re-publish outbox history (by --referral, or --from and "
      "--to) from each service given (default: all five); subcommand "
      "deliveries: ReplayDeliveries");
  auto request = std::make_shared<v1::ReplayOutboxRequest>();
  auto flags =
      std::make_shared<RequestFlags>(replay, request.get(),
                                     RequestFlags::Options()
                                         .Alias("referral_id", "--referral")
                                         .Alias("types", "--type")
                                         .Alias("dry_run", "--dry-run"));
  OnRun(replay, cli, [&cli, request, flags]() {
    if (absl::Status bad = flags->Apply(); !bad.ok()) {
      return cli.Fail("replay", std::string(bad.message()), kExitUsage);
    }
    std::vector<Service> services = cli.GivenServices();
    if (services.empty()) {
      services.assign(std::begin(kAllServices), std::end(kAllServices));
    }
    int worst = kExitOk;
    for (Service s : services) {
      int code = CallAndPrint(cli, "replay " + ServiceName(s), cli.Dial(s),
                              &v1::OutboxService::Stub::ReplayOutbox, *request);
      worst = std::max(worst, code);
    }
    return worst;
  });
  AddRpc(replay, cli, "deliveries",
         "ReplayDeliveries: re-send deliveries to a partner",
         Service::kNotification, &Notification::ReplayDeliveries,
         RequestFlags::Options().Alias("referral_id", "--referral"));
}

}  // namespace

void AddNotificationCommands(CLI::App& app, Cli& cli) {
  AddRpc(&app, cli, "deliveries",
         "ListDeliveries: what was delivered to whom, and what was refused",
         Service::kNotification, &Notification::ListDeliveries,
         RequestFlags::ById("referral_id"));
  AddSubscribe(app, cli);
  AddReplay(app, cli);
}

}  // namespace signpost::cli
