#include "common/audit/audit_app.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/audit/timeline.h"
#include "common/status/macros.h"
#include "common/time/timestamps.h"

namespace signpost::audit {
namespace {
constexpr char kGetTimeline[] = "/signpost.v1.AuditService/GetTimeline";
constexpr char kListAccess[] = "/signpost.v1.AuditService/ListAccess";
}  // namespace

absl::StatusOr<std::vector<kafka::ConsumedMessage>> AuditApp::ReadLog() {
  // One scan at a time: a second caller is told to come back rather than
  // holding another of the process's RPC threads while it waits.
  if (!scan_mu_.TryLock()) {
    return absl::ResourceExhaustedError(
        "another audit read of the log is running; retry when it ends");
  }
  absl::StatusOr<std::vector<kafka::ConsumedMessage>> records = log_();
  scan_mu_.Unlock();
  if (!records.ok()) {
    // The log is out of reach: worth retrying, never UNKNOWN.
    return absl::UnavailableError(absl::StrCat(
        "the event log could not be read: ", records.status().message()));
  }
  return records;
}

absl::Status AuditApp::Audit(const access::Principal& caller,
                             absl::string_view rpc, absl::string_view object_id,
                             absl::string_view traceparent) {
  return audit_.Record(
      store::AccessAllowed(caller.agency_id().value(), rpc, object_id,
                           v1::FIELD_CLASS_IDS_AND_CODES,
                           v1::ACCESS_DECISION_ALLOWED, access::kRuleFunction),
      traceparent);
}

absl::StatusOr<v1::GetTimelineResponse> AuditApp::GetTimeline(
    const access::Principal& caller, const v1::GetTimelineRequest& request,
    absl::string_view traceparent) {
  ASSIGN_OR_RETURN(std::vector<kafka::ConsumedMessage> records, ReadLog());
  v1::GetTimelineResponse timeline =
      BuildTimeline(records, keys_, request.referral_id());
  // Asked about a referral, found or not: the question is recorded.
  RETURN_IF_ERROR(
      Audit(caller, kGetTimeline, request.referral_id(), traceparent));
  if (timeline.entries_size() == 0) {
    return absl::NotFoundError(absl::StrCat("referral ", request.referral_id(),
                                            ": no event in the log"));
  }
  return timeline;
}

absl::StatusOr<v1::ListAccessResponse> AuditApp::ListAccess(
    const access::Principal& caller, const v1::ListAccessRequest& request,
    absl::string_view traceparent) {
  ASSIGN_OR_RETURN(std::vector<kafka::ConsumedMessage> records, ReadLog());
  v1::ListAccessResponse access =
      BuildAccessList(records, keys_, request.person_id(),
                      timeutil::FromTimestamp(request.from()),
                      timeutil::FromTimestamp(request.to()));
  // Asked about a person, found or not: the question itself is recorded.
  RETURN_IF_ERROR(Audit(caller, kListAccess, request.person_id(), traceparent));
  return access;
}

}  // namespace signpost::audit
