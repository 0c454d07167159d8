// AuditService's use cases (issue 14): a referral's timeline and a
// person's subject access, each read from the event log (a LogSource, in
// a binary audit::ReadLog over every topic) and built by timeline.h, then
// itself written to the access audit in one transaction before it is
// answered, so that no audit answer is ever released unrecorded.
// One log scan runs at a time: each call reads the whole log (there is no
// index yet); a call while another scans is answered RESOURCE_EXHAUSTED
// at once, rather than holding another RPC thread or doubling the load.
// Thread-safe.
#pragma once

#include <functional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/access/authz.h"
#include "common/events/signing.h"
#include "common/kafka/kafka.h"
#include "common/store/access_audit.h"
#include "signpost/v1/audit.pb.h"

namespace signpost::audit {

class AuditApp {
 public:
  using LogSource =
      std::function<absl::StatusOr<std::vector<kafka::ConsumedMessage>>()>;

  // None is owned; `keys` and `audit` must outlive the app.
  AuditApp(LogSource log, const events::EventVerifier& keys,
           store::AccessAuditLog& audit)
      : log_(std::move(log)), keys_(keys), audit_(audit) {}

  // `request` is already checked (CheckTimelineRequest).
  absl::StatusOr<v1::GetTimelineResponse> GetTimeline(
      const access::Principal& caller, const v1::GetTimelineRequest& request,
      absl::string_view traceparent);
  // `request` is already checked (CheckListAccessRequest).
  absl::StatusOr<v1::ListAccessResponse> ListAccess(
      const access::Principal& caller, const v1::ListAccessRequest& request,
      absl::string_view traceparent);

 private:
  absl::StatusOr<std::vector<kafka::ConsumedMessage>> ReadLog();
  // The caller's read of `object_id` through `rpc`, ids and codes.
  absl::Status Audit(const access::Principal& caller, absl::string_view rpc,
                     absl::string_view object_id,
                     absl::string_view traceparent);

  const LogSource log_;
  const events::EventVerifier& keys_;
  store::AccessAuditLog& audit_;
  absl::Mutex scan_mu_;
};

}  // namespace signpost::audit
