// OutboxService (proto/signpost/v1/outbox.proto), served by every service
// for its own outbox: re-publishes already-sent events with their original
// ids, by referral or by time range, so that a record the log lost reaches
// its consumers (whose inboxes drop one that did arrive). Operators only
// (the authorisation table). Thread-safe.
#pragma once

#include <functional>
#include <string>
#include <utility>

#include "common/errors/errors.h"
#include "common/grpc/gate.h"
#include "common/store/database.h"
#include "common/store/outbox.h"
#include "signpost/v1/outbox.grpc.pb.h"

namespace signpost::service {

// Every bad field of `request`; `selection` is filled when there is none.
errors::FieldErrors ValidateReplay(const v1::ReplayOutboxRequest& request,
                                   store::ReplaySelection& selection);

class OutboxServiceImpl final : public v1::OutboxService::CallbackService {
 public:
  // `guard` is the service's replay guard (ReplaySelection::guard);
  // `wake_relay` runs after rows were queued again.
  OutboxServiceImpl(std::string producer, store::Database& db,
                    std::string guard, std::function<void()> wake_relay,
                    grpcutil::Gate& gate);

  grpc::ServerUnaryReactor* ReplayOutbox(
      grpc::CallbackServerContext* context,
      const v1::ReplayOutboxRequest* request,
      v1::ReplayOutboxResponse* response) override;

 private:
  const std::string producer_;
  store::Database& db_;
  const std::string guard_;
  std::function<void()> wake_relay_;
  grpcutil::Gate& gate_;
};

}  // namespace signpost::service
