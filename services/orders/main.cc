// signpost-orders: wires config to the orders store, handler and service.
#include "common/service/host.h"
#include "services/orders/orders_handler.h"
#include "services/orders/orders_service.h"
#include "services/orders/orders_store.h"

int main(int argc, char** argv) {
  using namespace signpost;
  service::ServiceSpec spec{"orders",
                            "127.0.0.1:50054",
                            events::kOrdersTopic,
                            {events::kTriageTopic},
                            orders::OrdersStore::Migrations()};
  return service::ServiceMain(
      argc, argv, spec, nullptr,
      [](service::ServiceHost& host, const config::Config&,
         grpcutil::Executor& executor) {
        orders::OrdersStore store(host.db());
        orders::OrdersHandler handler(store, host.relay());
        orders::OrderServiceImpl api(store, host.relay(), executor);
        return host.Run({&api}, [&handler](const events::IncomingEvent& e) {
          return handler.Handle(e);
        });
      });
}
