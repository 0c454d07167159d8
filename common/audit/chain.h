// A hash chain per producer and topic over the records it publishes (issue
// 14, item 1), in the manner of Crosby & Wallach's tamper-evident logs,
// kept simple. One chain per topic (not one per producer) so that topics
// kept for different periods (the audit topic for ever, service topics for
// years, partner topics for weeks) each verify on their own.
//
// Every record a service's outbox relay publishes carries, next to its
// signature, the producer's chain position and the hash of the record
// before it:
//   sp_chain_seq   1, 2, 3, ... per producer (its database) and topic
//   sp_chain_prev  ChainHash of the record with seq - 1 (64 lowercase hex
//                  digits; kGenesis for seq 1)
// and the signature covers both (events/signing.h). A record's own hash is
//   ChainHash = hex(SHA-256(field("signpost-chain-v1") || field(prev)
//                           || field(seq) || field(canonical)))
// with canonical = events::CanonicalSigningBytes of the record (topic, key,
// the CloudEvents headers, the chain headers and the payload) and field()
// as there. A re-send (a retry, or OutboxService's replay) repeats a
// record with the same seq and hash; anything else that repeats a seq, or
// breaks a link, is tampering.
//
// The relay also appends a ChainCheckpoint (the head of one of its chains:
// topic, seq and hash) to signpost.audit.v1 every N records or T seconds,
// so that records dropped from the end of a chain are found too.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/events/signing.h"
#include "common/kafka/kafka.h"

namespace signpost::audit {

using events::kChainPrevHeader;
using events::kChainSeqHeader;
// The prev of seq 1.
inline constexpr char kGenesis[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

// The hash of a record at `seq` after `prev` (see the top of this file).
// `headers` must already hold the chain headers.
std::string ChainHash(absl::string_view prev, uint64_t seq,
                      absl::string_view topic, absl::string_view key,
                      absl::string_view payload, const kafka::Headers& headers);

// The chain headers of the record at `seq` after `prev`.
kafka::Headers ChainHeaders(uint64_t seq, absl::string_view prev);

// The producer whose own topic `topic` is (events::kTopicProducers), or ""
// for a topic any producer may write (the audit topic, a partner topic).
std::string OwnerOfTopic(absl::string_view topic);

// Where a producer's chain first breaks.
struct ChainBreak {
  std::string producer;
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  // e.g. "BAD-SIGNATURE", "MISSING", "ALTERED", "REORDERED", "FORKED",
  // "BAD-CHECKPOINT".
  std::string kind;
  std::string detail;
};

struct ChainReport {
  // Records read per producer, and the head each of its chains reached
  // (producer -> topic -> seq).
  std::map<std::string, int64_t> records;
  std::map<std::string, std::map<std::string, uint64_t>> head_seq;
  int64_t checkpoints = 0;
  int64_t resends = 0;
  // The first break of each producer that has one, by producer.
  std::vector<ChainBreak> breaks;
};

// Checks every record (from every topic and partition, each partition in
// offset order): each is signed by a known key (its producer is the key's);
// per producer and topic, seq runs 1, 2, ... with no gap, each prev is the
// hash of the record before, each partition sees seqs in increasing order,
// and every checkpoint is signed by the producer it names and names a seq
// and hash its chain has. Records without
// chain headers (from before the chain) are checked for their signature
// only. `from_start` false (a range, not the whole log) lets a chain start
// at any seq.
ChainReport VerifyChains(const std::vector<kafka::ConsumedMessage>& records,
                         const events::EventVerifier& keys, bool from_start);

}  // namespace signpost::audit
