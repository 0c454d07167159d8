#include "common/audit/chain.h"

#include <openssl/evp.h>

#include <algorithm>
#include <set>
#include <tuple>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "signpost/v1/events.pb.h"

namespace signpost::audit {
namespace {

constexpr char kDomain[] = "signpost-chain-v1";

void AppendField(std::string* out, absl::string_view value) {
  const uint64_t n = value.size();
  for (int shift = 56; shift >= 0; shift -= 8) {
    out->push_back(static_cast<char>((n >> shift) & 0xff));
  }
  out->append(value.data(), value.size());
}

std::string Sha256Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(md), len));
}

bool IsHash(absl::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// One chained record as read.
struct Link {
  uint64_t seq = 0;
  std::string prev;
  std::string hash;
  const kafka::ConsumedMessage* record = nullptr;
};

// A break with where in the chain it sits (the first is reported).
struct Candidate {
  uint64_t at_seq = 0;
  ChainBreak b;
};

ChainBreak BreakAt(const std::string& producer, const kafka::ConsumedMessage& r,
                   std::string kind, std::string detail) {
  return ChainBreak{producer, r.topic,         r.partition,
                    r.offset, std::move(kind), std::move(detail)};
}

// The producer a record's topic names, for records whose signature fails.
std::string ProducerOfTopic(const std::string& topic) {
  std::string owner = OwnerOfTopic(topic);
  return owner.empty() ? "unknown" : owner;
}

}  // namespace

std::string OwnerOfTopic(absl::string_view topic) {
  for (const events::TopicProducer& tp : events::kTopicProducers) {
    if (topic == tp.topic) return tp.producer;
  }
  return "";
}

std::string ChainHash(absl::string_view prev, uint64_t seq,
                      absl::string_view topic, absl::string_view key,
                      absl::string_view payload,
                      const kafka::Headers& headers) {
  std::string data;
  AppendField(&data, kDomain);
  AppendField(&data, prev);
  AppendField(&data, absl::StrCat(seq));
  AppendField(&data,
              events::CanonicalSigningBytes(topic, key, payload, headers));
  return Sha256Hex(data);
}

kafka::Headers ChainHeaders(uint64_t seq, absl::string_view prev) {
  return {{kChainSeqHeader, absl::StrCat(seq)},
          {kChainPrevHeader, std::string(prev)}};
}

ChainReport VerifyChains(const std::vector<kafka::ConsumedMessage>& records,
                         const events::EventVerifier& keys, bool from_start) {
  ChainReport report;
  // Each partition in offset order.
  std::vector<const kafka::ConsumedMessage*> ordered;
  ordered.reserve(records.size());
  for (const auto& r : records) ordered.push_back(&r);
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const auto* a, const auto* b) {
                     return std::tie(a->topic, a->partition, a->offset) <
                            std::tie(b->topic, b->partition, b->offset);
                   });
  // One chain per producer and topic.
  using ChainKey = std::pair<std::string, std::string>;
  std::map<ChainKey, std::map<uint64_t, Link>> chains;
  std::map<std::string, std::vector<Candidate>> candidates;
  std::map<std::tuple<std::string, std::string, int32_t>, uint64_t> last_seq;
  struct Checkpoint {
    std::string producer;
    std::string topic;
    uint64_t seq;
    std::string head_hash;
    const kafka::ConsumedMessage* record;
  };
  std::vector<Checkpoint> checkpoints;

  for (const kafka::ConsumedMessage* r : ordered) {
    const std::optional<std::string> seq_text = r->Header(kChainSeqHeader);
    const std::optional<std::string> prev = r->Header(kChainPrevHeader);
    uint64_t seq = 0;
    const bool chained = seq_text.has_value() || prev.has_value();
    const bool parsed = seq_text.has_value() && prev.has_value() &&
                        absl::SimpleAtoi(*seq_text, &seq) && seq > 0 &&
                        IsHash(*prev);
    absl::StatusOr<std::string> producer = keys.VerifyAnyProducer(*r);
    if (!producer.ok()) {
      const std::string who = ProducerOfTopic(r->topic);
      candidates[who].push_back(
          {seq, BreakAt(who, *r, "BAD-SIGNATURE",
                        std::string(producer.status().message()))});
      continue;
    }
    // A service's own topic carries only its own records.
    if (const std::string owner = ProducerOfTopic(r->topic);
        owner != "unknown" && owner != *producer) {
      candidates[owner].push_back(
          {seq, BreakAt(owner, *r, "BAD-SIGNATURE",
                        absl::StrCat("signed with a key of ", *producer,
                                     ", on a topic of ", owner))});
      continue;
    }
    ++report.records[*producer];
    if (!chained) continue;  // from before the chain: signature only
    if (!parsed) {
      candidates[*producer].push_back(
          {seq, BreakAt(*producer, *r, "MALFORMED",
                        "sp_chain_seq or sp_chain_prev is not well formed")});
      continue;
    }
    Link link{seq, *prev,
              ChainHash(*prev, seq, r->topic, r->key, r->payload, r->headers),
              r};
    auto& chain = chains[{*producer, r->topic}];
    auto seen = chain.find(seq);
    uint64_t& last = last_seq[{*producer, r->topic, r->partition}];
    if (seen != chain.end()) {
      if (seen->second.hash == link.hash) {
        ++report.resends;  // a retry or a replay: the same record again
      } else {
        candidates[*producer].push_back(
            {seq,
             BreakAt(*producer, *r, "FORKED",
                     absl::StrCat("a second, different record at seq ", seq))});
      }
      continue;
    }
    if (seq < last) {
      candidates[*producer].push_back(
          {seq, BreakAt(*producer, *r, "REORDERED",
                        absl::StrCat("seq ", seq, " after seq ", last,
                                     " in the same partition"))});
    }
    last = std::max(last, seq);
    chain.emplace(seq, std::move(link));
    v1::EventEnvelope envelope;
    if (r->topic == events::kAuditTopic &&
        envelope.ParseFromString(r->payload) &&
        envelope.has_chain_checkpoint()) {
      ++report.checkpoints;
      const v1::ChainCheckpoint& c = envelope.chain_checkpoint();
      if (c.producer() != *producer) {
        candidates[*producer].push_back(
            {seq, BreakAt(*producer, *r, "BAD-CHECKPOINT",
                          absl::StrCat("a checkpoint of ", c.producer(),
                                       " signed by ", *producer))});
        continue;
      }
      checkpoints.push_back({*producer, c.topic(), c.seq(), c.head_hash(), r});
    }
  }

  for (auto& [chain_key, chain] : chains) {
    const std::string& producer = chain_key.first;
    if (chain.empty()) continue;
    report.head_seq[producer][chain_key.second] = chain.rbegin()->first;
    uint64_t expected = from_start ? 1 : chain.begin()->first;
    const Link* before = nullptr;
    for (const auto& [seq, link] : chain) {
      if (seq != expected) {
        candidates[producer].push_back(
            {seq, BreakAt(producer, *link.record, "MISSING",
                          absl::StrCat("seq ", expected, " to ", seq - 1,
                                       " of ", chain_key.second,
                                       " missing before this record"))});
      } else if (before != nullptr && link.prev != before->hash) {
        candidates[producer].push_back(
            {seq, BreakAt(producer, *link.record, "ALTERED",
                          absl::StrCat("prev does not match the hash of seq ",
                                       seq - 1))});
      } else if (before == nullptr && from_start && link.prev != kGenesis) {
        candidates[producer].push_back(
            {seq, BreakAt(producer, *link.record, "ALTERED",
                          "the first record does not start the chain")});
      }
      expected = seq + 1;
      before = &link;
    }
  }
  std::set<std::string> read;  // the topics the records come from
  for (const kafka::ConsumedMessage* r : ordered) read.insert(r->topic);
  for (const Checkpoint& c : checkpoints) {
    // A checkpoint of a topic not read (one topic checked alone), or of a
    // chain this range does not reach (retention emptied it): nothing to
    // compare.
    if (c.topic.empty() || !read.count(c.topic)) continue;
    auto found = chains.find({c.producer, c.topic});
    if (!from_start && (found == chains.end() || found->second.empty())) {
      continue;
    }
    auto& chain = chains[{c.producer, c.topic}];
    auto it = chain.find(c.seq);
    if (it != chain.end()) {
      if (it->second.hash != c.head_hash) {
        candidates[c.producer].push_back(
            {c.seq, BreakAt(c.producer, *c.record, "ALTERED",
                            absl::StrCat("checkpoint names another hash for "
                                         "seq ",
                                         c.seq))});
      }
    } else if (chain.empty() || c.seq > chain.rbegin()->first) {
      candidates[c.producer].push_back(
          {c.seq,
           BreakAt(c.producer, *c.record, "MISSING",
                   absl::StrCat("checkpoint at seq ", c.seq, " of ", c.topic,
                                " but the chain ends before it"))});
    }
  }
  for (auto& [producer, found] : candidates) {
    auto first = std::min_element(
        found.begin(), found.end(), [](const Candidate& a, const Candidate& b) {
          return std::tie(a.at_seq, a.b.topic, a.b.partition, a.b.offset) <
                 std::tie(b.at_seq, b.b.topic, b.b.partition, b.b.offset);
        });
    report.breaks.push_back(first->b);
  }
  return report;
}

}  // namespace signpost::audit
