// Runs a consumer-group loop that decodes Signpost events and hands them to a
// handler. Offsets are committed only after the handler returns OK (its
// effects are then committed in the service's store). A record that cannot be
// decoded, or that the handler rejects as permanently invalid, goes to the
// dead-letter topic with the reason and the loop goes on. Retryable handler
// errors (UNAVAILABLE and the like) are retried with backoff, never skipped.
// Thread-safe: Start()/Stop() from one owner; the loop runs its own thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "common/kafka/kafka.h"
#include "signpost/v1/events.pb.h"

namespace signpost::events {

struct IncomingEvent {
  v1::EventEnvelope envelope;
  std::string traceparent;
  std::string topic;
};

// Handles one event; must be idempotent (use store::ClaimInbox).
// InvalidArgument / FailedPrecondition mean "never processable": dead-letter.
using EventHandler = std::function<absl::Status(const IncomingEvent&)>;

class EventConsumer {
 public:
  struct Options {
    kafka::ClientOptions client;
    std::string group_id;
    std::vector<std::string> topics;
    std::string dead_letter_topic;
    std::string service_name;
  };
  static absl::StatusOr<std::unique_ptr<EventConsumer>> Create(
      Options options, kafka::Producer& dlq_producer, EventHandler handler);
  ~EventConsumer();

  void Start();
  // Finishes the event in hand, leaves the group, and joins the thread.
  void Stop();

  int64_t handled() const { return handled_.load(); }
  int64_t dead_lettered() const { return dead_lettered_.load(); }

  // Processes at most one record; exposed for tests. Returns false on timeout.
  bool PollOnce(absl::Duration timeout);

 private:
  EventConsumer(Options options, std::unique_ptr<kafka::Consumer> consumer,
                kafka::Producer& dlq_producer, EventHandler handler);
  void Run();
  void DeadLetter(const kafka::ConsumedMessage& message,
                  absl::string_view reason);
  void CommitWithRetry(const kafka::ConsumedMessage& message);

  Options options_;
  std::unique_ptr<kafka::Consumer> consumer_;
  kafka::Producer& dlq_producer_;
  EventHandler handler_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> handled_{0};
  std::atomic<int64_t> dead_lettered_{0};
  std::thread thread_;
};

}  // namespace signpost::events
