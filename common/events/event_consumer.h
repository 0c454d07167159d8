// Runs a consumer-group loop that decodes Signpost events and hands them to
// a handler inside store transactions that the consumer owns. Records come
// in batches (up to `batch_max_records`, or what arrives within
// `batch_wait` of the first), and a batch is applied in one transaction:
//
//   BEGIN IMMEDIATE;
//   for each record: claim the inbox (skip a duplicate); Handle(event, tx);
//   COMMIT; on_commit(); commit the Kafka offsets.
//
// so one fsync and one offset commit serve the whole batch. Records are
// handled in the order they were fetched, which keeps each partition's
// (each referral's) order. When anything in a batch fails, the batch's
// transaction is rolled back and its records are applied again one at a
// time, each in its own transaction, so that a poison record is retried or
// dead-lettered alone and never holds back its neighbours.
//
// Handlers never open transactions or claim the inbox themselves. A
// handler's failure rolls back everything written in its transaction.
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
#include <optional>
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
    // A batch: at most this many records, and after the first, at most this
    // long waiting for more (0: only those already fetched).
    int batch_max_records = 500;
    absl::Duration batch_wait = absl::Milliseconds(1);
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
  // Asks the loop to stop; it finishes (or abandons, uncommitted) the batch
  // in hand. Does not wait.
  void RequestStop();
  // RequestStop(), joins the thread and leaves the group, waiting at most
  // `close_timeout` for the group to answer.
  void Stop(absl::Duration close_timeout = absl::Seconds(10));

  int64_t handled() const { return handled_.load(); }
  int64_t duplicates() const { return duplicates_.load(); }
  int64_t dead_lettered() const { return dead_lettered_.load(); }
  // Batches applied in one transaction, and those that failed and were
  // applied again one record at a time.
  int64_t batches() const { return batches_.load(); }
  int64_t batch_fallbacks() const { return batch_fallbacks_.load(); }
  // The consumer's lag per assigned partition (kafka::Consumer::Lag).
  // Thread-safe.
  std::vector<kafka::PartitionLag> Lag() { return consumer_->Lag(); }

  // Processes at most one batch; exposed for tests. Returns false on
  // timeout.
  bool PollOnce(absl::Duration timeout);

 private:
  EventConsumer(Options options, std::unique_ptr<kafka::Consumer> consumer,
                store::Database& db, kafka::Producer& dlq_producer,
                EventHandler handler);
  struct Admitted {
    const kafka::ConsumedMessage* message;
    IncomingEvent event;
  };
  void Run();
  // The event a record carries, once its signature verifies and it
  // decodes; otherwise why not (the dead-letter reason).
  absl::StatusOr<IncomingEvent> Admit(const kafka::ConsumedMessage& message);
  void ProcessBatch(const std::vector<kafka::ConsumedMessage>& messages);
  // Applies the events in one transaction; OK, or the first failure (then
  // nothing of any of them is written) and, in `*failed`, whose it was.
  absl::Status Apply(const std::vector<const Admitted*>& events,
                     size_t* failed = nullptr);
  // One record alone, retried or dead-lettered as its failure says; its
  // offset is committed once it is done. `first_attempt`, when given, is
  // the failure of an attempt already made (in a batch, behind records
  // that succeeded: what it would have met alone). False when stopping
  // left it undone (uncommitted, so redelivered after a restart).
  bool Process(const Admitted& admitted,
               std::optional<absl::Status> first_attempt = std::nullopt);
  // Publishes the record to the dead-letter topic, then (with
  // `commit_offset`) commits its offset. False when stopping first.
  bool DeadLetter(const kafka::ConsumedMessage& message,
                  absl::string_view reason, bool commit_offset = true);
  void CommitWithRetry(const std::vector<kafka::ConsumedMessage>& messages);
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
  std::atomic<int64_t> batches_{0};
  std::atomic<int64_t> batch_fallbacks_{0};
  std::thread thread_;
};

}  // namespace signpost::events
