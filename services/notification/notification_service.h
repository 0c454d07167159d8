// gRPC adapter for NotificationService: decodes and validates each request,
// converts ids to their strong types, calls NotificationApp and encodes the
// answer. Subscribe runs one SubscribeStream per call (the agency from its
// certificate). Thread-safe.
#pragma once

#include <atomic>

#include "common/grpc/decoding.h"
#include "common/grpc/gate.h"
#include "services/notification/notification_app.h"
#include "signpost/v1/notification.grpc.pb.h"

namespace signpost::notification {

class NotificationServiceImpl final
    : public v1::NotificationService::CallbackService {
 public:
  struct Options {
    // Events read from the store per page; with one write in flight, a slow
    // reader holds at most this many in memory.
    int stream_page = 64;
    // Streams open at once (each has a thread); more are RESOURCE_EXHAUSTED.
    int max_streams = 64;
    // How often an idle stream looks for new events when not woken.
    absl::Duration stream_poll = absl::Milliseconds(200);
  };

  NotificationServiceImpl(NotificationApp& app, grpcutil::Gate& gate)
      : NotificationServiceImpl(app, gate, Options()) {}
  NotificationServiceImpl(NotificationApp& app, grpcutil::Gate& gate,
                          Options options)
      : app_(app), gate_(gate), options_(options) {
    // Undecodable request bytes get INVALID_ARGUMENT (decoding.h).
    grpcutil::RefuseUndecodable(
        this, v1::NotificationService::service_full_name(), "ListDeliveries",
        &NotificationServiceImpl::ListDeliveries);
    grpcutil::RefuseUndecodable(
        this, v1::NotificationService::service_full_name(), "ReplayDeliveries",
        &NotificationServiceImpl::ReplayDeliveries);
    grpcutil::RefuseUndecodable(
        this, v1::NotificationService::service_full_name(), "Subscribe",
        &NotificationServiceImpl::Subscribe);
  }
  grpc::ServerUnaryReactor* ListDeliveries(
      grpc::CallbackServerContext* context,
      const v1::ListDeliveriesRequest* request,
      v1::ListDeliveriesResponse* response) override;
  grpc::ServerWriteReactor<v1::SubscribeResponse>* Subscribe(
      grpc::CallbackServerContext* context,
      const v1::SubscribeRequest* request) override;
  grpc::ServerUnaryReactor* ReplayDeliveries(
      grpc::CallbackServerContext* context,
      const v1::ReplayDeliveriesRequest* request,
      v1::ReplayDeliveriesResponse* response) override;

  // Streams open now.
  int open_streams() const { return open_streams_.load(); }

 private:
  friend class SubscribeStream;
  NotificationApp& app_;
  grpcutil::Gate& gate_;
  const Options options_;
  std::atomic<int> open_streams_{0};
};

}  // namespace signpost::notification
