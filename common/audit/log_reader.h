// Reads the event log for an auditor: every record of every signpost.*
// topic from its start to its end now (dead letters, which are copies, left
// out), or of the named topics only. Used by AuditService and by
// `signpost-cli audit verify|timeline|access`. Blocks; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/kafka/kafka.h"

namespace signpost::audit {

// Which topics a reader reads when it names none.
enum class PartnerTopics { kInclude, kExclude };

// `topics` empty: every topic the cluster lists whose name starts
// "signpost.", except the dead-letter topic, and except the partner topics
// (signpost.partner.*) with kExclude (a timeline needs none of them, and
// the notification process is not granted read on them). Otherwise those
// topics, as named. Each topic within `timeout`.
absl::StatusOr<std::vector<kafka::ConsumedMessage>> ReadLog(
    const kafka::ClientOptions& options, const std::vector<std::string>& topics,
    absl::Duration timeout, PartnerTopics partners = PartnerTopics::kInclude);

}  // namespace signpost::audit
