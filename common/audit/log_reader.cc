#include "common/audit/log_reader.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/events/envelope.h"
#include "common/store/outbox.h"

namespace signpost::audit {

absl::StatusOr<std::vector<kafka::ConsumedMessage>> ReadLog(
    const kafka::ClientOptions& options, const std::vector<std::string>& topics,
    absl::Duration timeout, PartnerTopics partners) {
  std::vector<std::string> names = topics;
  if (names.empty()) {
    absl::StatusOr<std::vector<std::string>> listed =
        kafka::ListTopics(options, absl::Seconds(30));
    if (!listed.ok()) return listed.status();
    for (std::string& t : *listed) {
      // Dead letters are copies under another topic name (their signature
      // covers the original's): part of no chain and no timeline.
      if (partners == PartnerTopics::kExclude &&
          absl::StartsWith(t, store::kPartnerTopicPrefix)) {
        continue;
      }
      if (absl::StartsWith(t, "signpost.") && t != events::kDeadLetterTopic) {
        names.push_back(std::move(t));
      }
    }
  }
  std::vector<kafka::ConsumedMessage> records;
  for (const std::string& topic : names) {
    absl::StatusOr<std::vector<kafka::ConsumedMessage>> read =
        kafka::ReadToEnd(options, topic, timeout);
    if (!read.ok()) {
      return absl::Status(read.status().code(),
                          absl::StrCat(topic, ": ", read.status().message()));
    }
    for (kafka::ConsumedMessage& r : *read) records.push_back(std::move(r));
  }
  return records;
}

}  // namespace signpost::audit
