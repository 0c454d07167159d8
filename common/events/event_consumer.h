// Runs a consumer-group loop that decodes Signpost events and hands each to
// a handler inside one store transaction that the consumer owns:
//
//   BEGIN IMMEDIATE; claim the inbox (skip a duplicate); Handle(event, tx);
//   COMMIT; on_commit(); commit the Kafka offset.
//
// Handlers therefore never open transactions or claim the inbox themselves,
// and a later change can put many records into one transaction without
// touching any handler. A handler's failure rolls back everything it wrote.
//
// Failures are classified (errors::Classify), so a partition never stalls:
// - retryable (UNAVAILABLE, SQLite busy or locked): retried with backoff;
// - never processable (undecodable, INVALID_ARGUMENT, FAILED_PRECONDITION,
//   ALREADY_EXISTS such as a constraint, ...): dead-lettered with the reason;
// - anything else: retried up to `max_attempts`, then dead-lettered;
// - a broken invariant: logged, and the process aborts rather than loop.
// With a verifier, a record whose signature does not verify (unsigned,
// forged, signed by a key not of the topic's producer, or from a topic the
// verifier does not know) is dead-lettered at once with reason
// "signature: <why>", before it is decoded or any transaction opens: it has
// no effect and claims no inbox entry.
// Thread-safe: Start()/Stop() from one owner; the loop runs its own thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/events/signing.h"
#include "common/kafka/kafka.h"
#include "common/store/database.h"
#include "signpost/v1/events.pb.h"

namespace signpost::events {

struct IncomingEvent {
  v1::EventEnvelope envelope;
  std::string traceparent;
  std::string topic;
};

// Handles one event inside the consumer's transaction. Events the handler
// does not care about return OK (they are still claimed, so never re-read).
using EventHandler =
    std::function<absl::Status(const IncomingEvent&, store::Tx&)>;

class EventConsumer {
 public:
  struct Options {
    kafka::ClientOptions client;
    std::string group_id;
    std::vector<std::string> topics;
    std::string dead_letter_topic;
    std::string service_name;
    // Attempts for an unclassified failure before it is dead-lettered.
    int max_attempts = 5;
    absl::Duration initial_backoff = absl::Milliseconds(100);
    absl::Duration max_backoff = absl::Seconds(5);
    // Called after each commit that handled an event (e.g. wake the relay).
    std::function<void()> on_commit;
    // When set, every record must verify before anything else happens to
    // it. Not owned; must outlive the consumer. Null accepts unsigned
    // records (low-level tests only: every service sets one).
    const EventVerifier* verifier = nullptr;
  };
  static absl::StatusOr<std::unique_ptr<EventConsumer>> Create(
      Options options, store::Database& db, kafka::Producer& dlq_producer,
      EventHandler handler);
  ~EventConsumer();

  void Start();
  // Asks the loop to stop; it finishes (or abandons, uncommitted) the record
  // in hand. Does not wait.
  void RequestStop();
  // RequestStop(), joins the thread and leaves the group, waiting at most
  // `close_timeout` for the group to answer.
  void Stop(absl::Duration close_timeout = absl::Seconds(10));

  int64_t handled() const { return handled_.load(); }
  int64_t duplicates() const { return duplicates_.load(); }
  int64_t dead_lettered() const { return dead_lettered_.load(); }
  // The consumer's lag per assigned partition (kafka::Consumer::Lag).
  // Thread-safe.
  std::vector<kafka::PartitionLag> Lag() { return consumer_->Lag(); }

  // Processes at most one record; exposed for tests. Returns false on timeout.
  bool PollOnce(absl::Duration timeout);

 private:
  EventConsumer(Options options, std::unique_ptr<kafka::Consumer> consumer,
                store::Database& db, kafka::Producer& dlq_producer,
                EventHandler handler);
  void Run();
  // Applies the event in one transaction; OK, or the handler's failure.
  absl::Status Apply(const IncomingEvent& event);
  void Process(const kafka::ConsumedMessage& message,
               const IncomingEvent& event);
  void DeadLetter(const kafka::ConsumedMessage& message,
                  absl::string_view reason);
  void CommitWithRetry(const kafka::ConsumedMessage& message);
  // Sleeps `d` unless stopping; returns false when stopping.
  bool Backoff(absl::Duration d);

  Options options_;
  std::unique_ptr<kafka::Consumer> consumer_;
  store::Database& db_;
  kafka::Producer& dlq_producer_;
  EventHandler handler_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> handled_{0};
  std::atomic<int64_t> duplicates_{0};
  std::atomic<int64_t> dead_lettered_{0};
  std::thread thread_;
};

}  // namespace signpost::events
