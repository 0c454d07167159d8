// The bare Kafka baseline: records produced with Signpost's own Producer
// (idempotent, acks=all, linger kafka::kDefaultLingerMs) at a Poisson rate
// and consumed by a group member with the services' consumer settings
// (kafka::Consumer, fetch wait kafka::kDefaultFetchWaitMs), through the
// broker the stack uses, on a topic of the harness's own. Thread-safe.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/load/stats.h"

namespace signpost::load {

// The topic the harness produces to. The devbroker (librdkafka's mock
// cluster) creates it on the producer's first metadata request, as a broker
// with auto.create.topics.enable does; no Signpost service reads it.
inline constexpr char kBaselineTopic[] = "signpost.loadbaseline.v1";

struct KafkaOptions {
  std::string bootstrap;
  double rate = 1000;  // records per second, Poisson arrivals
  absl::Duration warmup = absl::Seconds(1);
  absl::Duration duration = absl::Seconds(10);
  int payload_bytes = 512;  // about one ReferralReceived envelope
  // Passed to the consumer (fetch.wait.max.ms) and the producer (linger.ms).
  int fetch_wait_ms = -1;  // -1: kafka::kDefaultFetchWaitMs
  int linger_ms = -1;      // -1: kafka::kDefaultLingerMs
};

struct KafkaResult {
  Samples hop;  // from the produce call to the consumer's receipt
  double window_seconds = 0;
  int64_t sent = 0;  // warm-up included
  int64_t received = 0;
  int64_t lost = 0;        // sent, never received
  int64_t duplicated = 0;  // received more than once
  int64_t corrupted = 0;   // payload not as sent
};

absl::StatusOr<KafkaResult> RunKafkaBaseline(const KafkaOptions& options);

}  // namespace signpost::load
