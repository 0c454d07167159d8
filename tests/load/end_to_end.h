// End-to-end runs against a real stack: referrals submitted to intake over
// mutual TLS, open loop (Poisson arrivals at a rate, each send at its
// scheduled time whatever the earlier ones are doing) or closed loop (N
// referrals in flight, each replaced once it is assigned and delivered),
// timed from the client's send to each stage's event read from the log
// (EventLog), with the exactly-once check over everything the log holds
// for the run's referrals. Thread-safe.
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "signpost/v1/intake.pb.h"
#include "tests/load/event_log.h"
#include "tests/load/referrals.h"
#include "tests/load/stats.h"

namespace signpost::load {

struct EndToEndOptions {
  std::string label;
  std::string intake_address;
  v1::SubmitReferralRequest example;
  Victims victims = Victims::kDistinct;
  double rate = 50;           // open loop: referrals per second
  int outstanding = 0;        // > 0: closed loop with this many in flight
  int64_t max_referrals = 0;  // > 0: open loop stops after this many
  absl::Duration duration = absl::Seconds(10);
  // After the last submit, how long to wait for every referral to finish.
  absl::Duration drain_timeout = absl::Seconds(120);
  // With referrals unfinished, a log that gains nothing for this long
  // means the stack has stopped working on them: they are lost.
  absl::Duration quiet = absl::Seconds(10);
  // The fault run: `during` runs on a thread of its own while the
  // referrals are sent (e.g. SIGKILL and restart each service); a submit
  // that fails because intake is down is sent again, with the same
  // idempotency key, until intake answers; and the log may repeat a record
  // (a relay killed after publishing and before marking it sent publishes
  // it again, with the same event id), which is not a second effect.
  std::function<void()> during;
  bool retry_submits = false;
};

// The exactly-once check. Every count is of effects, not referrals, except
// `lost`.
struct ExactlyOnce {
  // Referrals missing a stage once the stack went quiet (the log gained no
  // record for EndToEndOptions::quiet). Referrals still unfinished when
  // the drain timed out with the stack still busy are slow, not lost.
  int64_t lost = 0;
  int64_t duplicated_received = 0;
  int64_t duplicated_triaged = 0;
  int64_t duplicated_outcomes = 0;    // one assignment told twice
  int64_t duplicated_deliveries = 0;  // one share recorded twice
  int64_t duplicate_records = 0;      // records repeating an event id
  // The fault run: a repeated record is a republication, counted but
  // not a duplicated effect (each effect above is counted by event id).
  bool records_may_repeat = false;
  int min_outcomes = 0, max_outcomes = 0;  // per finished referral
  int min_deliveries = 0, max_deliveries = 0;
  int64_t duplicated() const {
    return duplicated_received + duplicated_triaged + duplicated_outcomes +
           duplicated_deliveries + (records_may_repeat ? 0 : duplicate_records);
  }
  bool ok() const { return lost == 0 && duplicated() == 0; }
};

struct EndToEndResult {
  EndToEndOptions options;
  int64_t submitted = 0;  // accepted by intake
  int64_t submit_errors = 0;
  std::string first_submit_error;
  double submit_rate = 0;  // accepted per second of the sending window
  int64_t finished = 0;
  int64_t unfinished = 0;
  // Finished referrals per second, from the first send to the last stage
  // read: the rate the stack sustained.
  double completion_rate = 0;
  int64_t offered = 0;           // finished referrals with an AdvocateOffered
  double log_records_per_s = 0;  // records the log gained while sending
  bool drain_timed_out = false;
  Samples submit_rpc;  // SubmitReferral's own latency
  // Each submitted referral once; one that never reached the stage counts
  // as kNeverNs, so quantiles are over everything sent.
  Samples to_triaged, to_assigned, to_offered, to_delivered;
  // ReferralReceived to ReferralTriaged: by the envelopes' occurred_at
  // (each service's clock at the change, this machine), and by when this
  // process read the two records.
  Samples hop_occurred, hop_read;
  ExactlyOnce check;
};

absl::StatusOr<EndToEndResult> RunEndToEnd(EventLog& log,
                                           const EndToEndOptions& options);

}  // namespace signpost::load
