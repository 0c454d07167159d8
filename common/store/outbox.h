// Transactional outbox and inbox. A service writes its state change and the
// events it causes in one SQLite transaction (AppendToOutbox inside Write());
// OutboxRelay then publishes committed rows in order and marks them sent.
// Sent rows are kept: they are the service's own event history. The inbox
// records processed event ids so a redelivered event has no second effect.
// With a signer, the relay signs every record it publishes
// (common/events/signing.h), so that consumers can verify its producer.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/events/signing.h"
#include "common/kafka/kafka.h"
#include "common/store/database.h"
#include "signpost/v1/events.pb.h"

namespace signpost::store {

// Adds `envelope` to the outbox within the caller's transaction.
absl::Status AppendToOutbox(Tx& tx, const v1::EventEnvelope& envelope,
                            absl::string_view topic,
                            absl::string_view traceparent);

// Marks the outbox record with `event_id` unsent, so that the relay
// publishes it again with the same event id (consumers' inboxes and
// partners deduplicate on it). NOT_FOUND when there is no such record.
absl::Status RequeueOutboxEvent(Tx& tx, absl::string_view event_id);

// Which already-sent outbox rows to publish again (OutboxService): one
// referral's, or those created in [from, to); optionally of these types
// only. Never a partner topic's (a partner's own re-send is
// NotificationService.ReplayDeliveries, which checks the share again).
struct ReplaySelection {
  std::string referral_id;
  std::optional<absl::Time> from;
  std::optional<absl::Time> to;
  std::vector<std::string> types;
  // The service's own rule, an SQL condition on outbox rows (columns
  // referral_id, event_type, created_at_ms): what a replay must never
  // bring back, e.g. a withdrawn referral's ReferralReceived. Empty: none.
  std::string guard;
};

// Marks the selected sent rows unsent, so that the relay publishes them
// again in their order with their event ids; with `dry_run`, only counts
// them. How many.
absl::StatusOr<int> RequeueSentEvents(Tx& tx, const ReplaySelection& selection,
                                      bool dry_run);

// The topic prefix of partner topics (signpost.partner.<agency>.v1).
inline constexpr char kPartnerTopicPrefix[] = "signpost.partner.";

// Rewrites the stored payload of each of `referral_id`'s outbox rows for
// which `rewrite` changes the envelope and returns true (erasure: what the
// service keeps of its own history). The log's copies are not touched.
absl::Status RewriteReferralEvents(
    Tx& tx, absl::string_view referral_id,
    const std::function<bool(v1::EventEnvelope&)>& rewrite);

// Records `envelope` as processed within the caller's transaction. Returns
// false when it was already processed (the caller must then do nothing).
absl::StatusOr<bool> ClaimInbox(Tx& tx, const v1::EventEnvelope& envelope);

struct StoredEvent {
  int64_t seq = 0;
  std::string topic;
  v1::EventEnvelope envelope;
  bool sent = false;
  int32_t partition = -1;
  int64_t offset = -1;
};

// The service's event history for one referral, oldest first.
absl::StatusOr<std::vector<StoredEvent>> ListReferralEvents(
    Database& db, absl::string_view referral_id);
// Number of outbox rows not yet published.
absl::StatusOr<int64_t> CountUnsent(Database& db);
// The rows still to publish, and how long the oldest has waited.
struct OutboxBacklog {
  int64_t rows = 0;
  absl::Duration oldest_age = absl::ZeroDuration();
};
absl::StatusOr<OutboxBacklog> ReadOutboxBacklog(Tx& tx, absl::Time now);

// Publishes committed outbox rows in sequence order. Thread-safe; runs its
// own thread between Start() and Stop().
class OutboxRelay {
 public:
  struct Options {
    int batch_size = 500;
    // The relay is woken by each commit that appends to the outbox (the
    // database's outbox listener); with nothing to publish it also looks
    // this often, for rows another process committed (maintenance tools).
    absl::Duration idle_wait = absl::Seconds(1);
    absl::Duration delivery_timeout = absl::Seconds(15);
    // When set, every record gets the signature headers (sp_sig_key, sp_sig,
    // sp_sig_alg) after its CloudEvents headers. Not owned; must outlive the
    // relay. Null publishes unsigned records (low-level tests only: every
    // service's consumers refuse them).
    const events::EventSigner* signer = nullptr;
    // The hash chain (audit/chain.h): each record chained in outbox order,
    // and a ChainCheckpoint of the head on signpost.audit.v1 after this
    // many chained records, or this long after the last one when the head
    // has moved. The checkpoint names `producer` (empty: no checkpoints).
    std::string producer;
    int checkpoint_every = 1000;
    absl::Duration checkpoint_interval = absl::Seconds(60);
  };
  OutboxRelay(Database& db, kafka::Producer& producer, Options options);
  OutboxRelay(Database& db, kafka::Producer& producer)
      : OutboxRelay(db, producer, Options()) {}
  ~OutboxRelay();

  // Starts the thread and becomes the database's outbox listener.
  void Start();
  // Wakes the relay after a commit that added outbox rows (the database's
  // outbox listener calls it; explicit calls are for tests).
  void Notify();
  // Stops the thread after publishing what is committed, waiting at most
  // `drain` in all (a delivery in flight is abandoned at the deadline; its
  // row stays unsent and is published after the restart).
  void Stop(absl::Duration drain = absl::Seconds(10));

  // Publishes one batch; returns how many rows were marked sent. Stops at the
  // first failed delivery so that order is kept. Waits at most `timeout`
  // (capped by the delivery timeout) for the deliveries.
  absl::StatusOr<int> PublishOnce(
      absl::Duration timeout = absl::InfiniteDuration());

  int64_t published() const { return published_.load(); }

  // Called on the relay's thread after each round that marked rows sent
  // (e.g. to record partner deliveries acknowledged by the cluster). Null
  // clears it; once this returns, the previous one is not running.
  void SetPublishedListener(std::function<void()> listener);

 private:
  void Run();

  Database& db_;
  kafka::Producer& producer_;
  Options options_;
  absl::Mutex mu_;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool joined_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int64_t> published_{0};
  absl::Mutex listener_mu_;
  std::function<void()> published_listener_ ABSL_GUARDED_BY(listener_mu_);
  // Set when Stop()'s drain deadline passes: abandons a delivery wait.
  std::atomic<bool> abandon_{false};
  // When each chain (by topic) was last checkpointed by this process
  // (relay thread only; unknown at start: due at once).
  std::map<std::string, absl::Time> checkpointed_at_;
  // Some chain's head has moved since its last checkpoint (true at start:
  // the database says), and when the earliest of them falls due.
  bool uncheckpointed_ = true;
  absl::Time checkpoint_due_at_ = absl::InfinitePast();
  // Stop(): checkpoint the head now if it moved.
  bool checkpoint_now_ = false;
  bool chain_ready_ = false;
  std::thread thread_;
};

}  // namespace signpost::store
