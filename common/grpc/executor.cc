#include "common/grpc/executor.h"

#include <chrono>

#include "common/grpc/status.h"
#include "common/ids/ids.h"

namespace signpost::grpcutil {

Executor::Executor(int threads) {
  for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { Work(); });
}

Executor::~Executor() { Stop(); }

bool Executor::Post(std::function<void()> task) {
  absl::MutexLock lock(&mu_);
  if (stopping_) return false;
  queue_.push_back(std::move(task));
  return true;
}

void Executor::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

void Executor::Work() {
  while (true) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || stopping_;
      };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

namespace {

// Why a call must not start, or OK when it may.
absl::Status StartCheck(grpc::CallbackServerContext* context) {
  if (context->IsCancelled()) {
    return absl::CancelledError("the call was cancelled before it started");
  }
  if (std::chrono::system_clock::now() > context->deadline()) {
    return absl::DeadlineExceededError(
        "deadline passed before the call started");
  }
  return absl::OkStatus();
}

}  // namespace

grpc::ServerUnaryReactor* RunUnary(
    grpc::CallbackServerContext* context, Executor& executor,
    std::function<absl::Status()> fn,
    std::function<void(const absl::Status&)> done) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto finish = [reactor, done](const absl::Status& status) {
    if (done) done(status);
    reactor->Finish(ToGrpcStatus(status));
  };
  const bool queued = executor.Post([context, finish, fn = std::move(fn)] {
    // Work nobody waits for any more is not started: it ends without
    // effects.
    absl::Status status = StartCheck(context);
    finish(status.ok() ? fn() : status);
  });
  if (!queued) finish(absl::UnavailableError("the service is shutting down"));
  return reactor;
}

std::string TraceparentOf(const grpc::CallbackServerContext* context) {
  const auto& metadata = context->client_metadata();
  auto it = metadata.find("traceparent");
  if (it != metadata.end()) {
    std::string value(it->second.data(), it->second.size());
    if (!TraceIdOf(value).empty()) return ChildTraceparent(value);
  }
  return NewTraceparent();
}

}  // namespace signpost::grpcutil
