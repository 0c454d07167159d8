#include "common/store/access_audit.h"

#include "common/events/envelope.h"
#include "common/store/outbox.h"

namespace signpost::store {

absl::Status AppendAccessAudit(Tx& tx, absl::string_view producer,
                               const v1::AccessAudited& record,
                               absl::string_view traceparent) {
  // Keyed by the object asked for, so that one referral's accesses keep
  // their order; a call that named no object by its caller (every record
  // needs a key: the envelope's referral_id).
  std::string key = record.object_id();
  if (key.empty()) key = record.agency_id();
  if (key.empty()) key = "unauthenticated";
  v1::EventEnvelope envelope = events::NewEnvelope(producer, key);
  *envelope.mutable_access_audited() = record;
  events::StampType(&envelope);
  return AppendToOutbox(tx, envelope, events::kAuditTopic, traceparent);
}

absl::Status AccessAuditLog::Record(const v1::AccessAudited& record,
                                    absl::string_view traceparent) {
  absl::Status status = db_.Write([&](Tx& tx) {
    return AppendAccessAudit(tx, producer_, record, traceparent);
  });
  if (status.ok() && wake_relay_) wake_relay_();
  return status;
}

}  // namespace signpost::store
