// A fixed pool of worker threads for gRPC callback handlers. Reactors must
// not block gRPC's own threads, so handlers that touch SQLite (fsync) hand
// their work to this pool and finish the reactor from there. Thread-safe.
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "common/errors/errors.h"
#include "common/grpc/status.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"

namespace signpost::grpcutil {

class Executor {
 public:
  explicit Executor(int threads);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `task`. Returns false, without queueing, once Stop() has begun:
  // the caller must then finish its work itself (RunUnary fails the call).
  [[nodiscard]] bool Post(std::function<void()> task);
  // Drains queued tasks and joins the workers. Idempotent.
  void Stop();

 private:
  void Work();
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

// Runs `fn` on `executor` and finishes the call's default reactor with its
// status (converted by ToGrpcStatus). A call cancelled by its client answers
// CANCELLED, one whose deadline passed while queued DEADLINE_EXCEEDED, and
// one arriving after the executor stopped UNAVAILABLE; none of them runs
// `fn`. `done`, when given, is told the status of every call just before
// it is answered, whether `fn` ran or not (for metrics and access logs).
// Returns the reactor for the handler to return.
grpc::ServerUnaryReactor* RunUnary(
    grpc::CallbackServerContext* context, Executor& executor,
    std::function<absl::Status()> fn,
    std::function<void(const absl::Status&)> done = nullptr);

// The W3C traceparent from call metadata, or a new one.
std::string TraceparentOf(const grpc::CallbackServerContext* context);

}  // namespace signpost::grpcutil
