// The access audit (signpost.audit.v1): AccessAudited events written through
// the service's own outbox, so an audited read and its audit event commit
// together, and a refusal's event survives a crash like any other event.
// Events hold ids, codes and rule ids only, never personal data.
// Thread-safe (the Database serialises transactions).
#pragma once

#include <functional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "common/store/database.h"
#include "signpost/v1/events.pb.h"

namespace signpost::store {

// The record of an access that was allowed and released `field_class`.
v1::AccessAudited AccessAllowed(absl::string_view agency_id,
                                absl::string_view rpc,
                                absl::string_view object_id,
                                v1::FieldClass field_class,
                                v1::AccessDecision decision,
                                absl::string_view rule_id);

// Appends `record` as an AccessAudited event from `producer` within the
// caller's transaction (for a read audited together with what it read).
absl::Status AppendAccessAudit(Tx& tx, absl::string_view producer,
                               const v1::AccessAudited& record,
                               absl::string_view traceparent);

class AccessAuditLog {
 public:
  // `wake_relay` is called after each committed record (OutboxRelay::Notify
  // in a binary).
  AccessAuditLog(Database& db, std::string producer,
                 std::function<void()> wake_relay)
      : db_(db),
        producer_(std::move(producer)),
        wake_relay_(std::move(wake_relay)) {}

  // Records `record` in a transaction of its own (a refused call).
  absl::Status Record(const v1::AccessAudited& record,
                      absl::string_view traceparent);

  const std::string& producer() const { return producer_; }

 private:
  Database& db_;
  std::string producer_;
  std::function<void()> wake_relay_;
};

}  // namespace signpost::store
