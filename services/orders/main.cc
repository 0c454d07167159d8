// signpost-orders: wires config to the orders store, handler and service.
#include "common/grpc/executor.h"
#include "common/service/host.h"
#include "services/orders/orders_handler.h"
#include "services/orders/orders_service.h"
#include "services/orders/orders_store.h"

int main(int argc, char** argv) {
  using namespace signpost;
  service::BlockShutdownSignals();
  service::ServiceSpec spec{"orders",
                            "127.0.0.1:50054",
                            events::kOrdersTopic,
                            {events::kTriageTopic},
                            orders::OrdersStore::Migrations()};
  config::Config config("signpost-orders");
  service::DefineCommonFlags(config, spec);
  if (int code = service::ParseConfig(config, argc, argv); code >= 0)
    return code;
  absl::StatusOr<std::unique_ptr<service::ServiceHost>> host =
      service::ServiceHost::Create(config, spec);
  if (!host.ok()) {
    config::PrintConfigError(argv[0], host.status());
    return 2;
  }
  grpcutil::Executor executor(4);
  orders::OrdersStore store((*host)->db());
  orders::OrdersHandler handler(store, (*host)->relay());
  orders::OrderServiceImpl api(store, (*host)->relay(), executor);
  int code = (*host)->Run({&api}, [&handler](const events::IncomingEvent& e) {
    return handler.Handle(e);
  });
  executor.Stop();
  return code;
}
