// OrderService subcommands: protective orders through their lifecycle.
#include "services/cli/commands.h"
#include "signpost/v1/orders.grpc.pb.h"

namespace signpost::cli {

void AddOrderCommands(CLI::App& app, Cli& cli) {
  using Stub = v1::OrderService::Stub;
  const RequestFlags::Options by_order = RequestFlags::ById("order_id");
  CLI::App* orders =
      app.add_subcommand("orders", "protective orders (OrderService)");
  orders->require_subcommand(1);
  AddRpc(orders, cli, "consider",
         "RecordConsideration: whether to apply for an order", Service::kOrders,
         &Stub::RecordConsideration, RequestFlags::ById("consideration_id"));
  AddRpc(orders, cli, "apply", "RecordApplication: an application made",
         Service::kOrders, &Stub::RecordApplication, by_order);
  AddRpc(orders, cli, "decide", "RecordDecision: granted or refused",
         Service::kOrders, &Stub::RecordDecision, by_order);
  AddRpc(orders, cli, "serve", "RecordService: served on the respondent",
         Service::kOrders, &Stub::RecordService, by_order);
  AddRpc(orders, cli, "vary", "RecordVariation: varied, extended, discharged",
         Service::kOrders, &Stub::RecordVariation, by_order);
  AddRpc(orders, cli, "breach", "RecordBreach", Service::kOrders,
         &Stub::RecordBreach, by_order);
  AddRpc(orders, cli, "import", "ImportOrder: an order made elsewhere",
         Service::kOrders, &Stub::ImportOrder);
  AddRpc(orders, cli, "get", "GetOrder", Service::kOrders, &Stub::GetOrder,
         by_order);
  AddRpc(orders, cli, "list", "ListOrders", Service::kOrders, &Stub::ListOrders,
         RequestFlags::ByArea());
  AddRpc(orders, cli, "history", "GetOrderHistory", Service::kOrders,
         &Stub::GetOrderHistory, by_order);
  AddRpc(orders, cli, "considerations",
         "ListConsiderations: a referral's order considerations",
         Service::kOrders, &Stub::ListConsiderations,
         RequestFlags::ById("referral_id"));
  AddRpc(&app, cli, "review-queue", "ListReviewQueue: orders awaiting review",
         Service::kOrders, &Stub::ListReviewQueue, RequestFlags::ByArea());
}

}  // namespace signpost::cli
