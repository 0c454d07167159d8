// Reads Signpost's event log as the load runs: a consumer group of its own
// on the intake, triage, advocacy and notification topics, decoding every
// envelope and keeping, per referral, when each stage's first event was read
// and how often each effect appeared (for the exactly-once check). Records
// of referrals the harness did not submit are kept too and simply not asked
// for. Thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/kafka/kafka.h"

namespace signpost::load {

// When one event of a referral was seen: read by this process (steady
// clock) and made by its producer (the envelope's occurred_at, Unix time).
struct Seen {
  int64_t read_ns = -1;
  int64_t occurred_unix_ns = -1;
  bool seen() const { return read_ns >= 0; }
};

// What the log holds for one referral.
struct ReferralTrace {
  Seen received;   // ReferralReceived
  Seen triaged;    // ReferralTriaged
  Seen assigned;   // the first advocacy outcome: offered, waitlisted,
                   // service offered or unserved
  Seen offered;    // the first AdvocateOffered (names an advocate)
  Seen delivered;  // the first DeliveryRecorded of an advocacy event
  int received_count = 0;
  int triaged_count = 0;
  // Advocacy outcomes by assignment (or, without one, by type and pathway):
  // how many events each had.
  std::map<std::string, int> outcomes;
  // Deliveries by delivered event, agency and transport.
  std::map<std::string, int> deliveries;
  bool Finished() const {
    return triaged.seen() && assigned.seen() && delivered.seen();
  }
};

class EventLog {
 public:
  // Joins with its own group id and reads from the start of each topic;
  // returns once the group has its partitions. `fetch_wait_ms` is the
  // reader's own fetch wait: what it adds to every stage it times.
  static absl::StatusOr<std::unique_ptr<EventLog>> Start(
      const std::string& bootstrap, int fetch_wait_ms);
  ~EventLog();
  void Stop();

  // Copies of the traces of `referral_ids` (empty traces for those not
  // seen yet).
  std::vector<ReferralTrace> Traces(
      const std::vector<std::string>& referral_ids);
  // Whether the referral has every stage.
  bool IsFinished(const std::string& referral_id);
  // How many of `referral_ids` have every stage.
  int64_t CountFinished(const std::vector<std::string>& referral_ids);
  // Records with an event id seen before (any referral, any topic).
  int64_t DuplicateRecords();
  int64_t UndecodableRecords();
  // Every record read so far.
  int64_t Records();

 private:
  explicit EventLog(std::unique_ptr<kafka::Consumer> consumer);
  void ReadLoop();
  void Note(const kafka::ConsumedMessage& message, int64_t read_ns);

  std::unique_ptr<kafka::Consumer> consumer_;  // used by the reader only
  std::atomic<bool> stop_{false};
  std::thread reader_;
  absl::Mutex mu_;
  std::unordered_map<std::string, ReferralTrace> traces_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<std::string, int> event_ids_ ABSL_GUARDED_BY(mu_);
  int64_t duplicate_records_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t undecodable_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t records_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace signpost::load
