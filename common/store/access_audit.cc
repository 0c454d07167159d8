#include "common/store/access_audit.h"

#include "common/events/envelope.h"
#include "common/store/outbox.h"

namespace signpost::store {

v1::AccessAudited AccessAllowed(absl::string_view agency_id,
                                absl::string_view rpc,
                                absl::string_view object_id,
                                v1::FieldClass field_class,
                                v1::AccessDecision decision,
                                absl::string_view rule_id) {
  v1::AccessAudited record;
  record.set_agency_id(std::string(agency_id));
  record.set_rpc(std::string(rpc));
  record.set_object_id(std::string(object_id));
  record.set_field_class(field_class);
  record.set_decision(decision);
  record.set_rule_id(std::string(rule_id));
  record.set_status_code("OK");
  return record;
}

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
