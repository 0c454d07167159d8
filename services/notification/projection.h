// Projections (issue 11): a partner event built from one internal event,
// holding only the agency's field set. Each internal event type has a
// partner type ("signpost.v1.ReferralTriaged" -> "referral.triaged") and
// the field sets that can carry it; Project fills what the event knows and
// then clears every field outside the set (KeepOnly), so a field set is
// enforced in one place whatever the event held. Pure domain code: no gRPC,
// no SQLite. Thread-safe (pure; the tables are immutable), except
// ProjectionCache (one event's, on one thread).
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "signpost/v1/events.pb.h"
#include "signpost/v1/partner.pb.h"

namespace signpost::notification {

// The partner type of `internal_type`; empty when no partner is ever told.
std::string PartnerTypeOf(absl::string_view internal_type);

// True when `set` can carry events of `internal_type`.
bool CanCarry(v1::FieldSet set, absl::string_view internal_type);

// The PartnerEvent fields (by name) every partner event has: ids, type,
// time, legal basis, field set, sequence.
const std::set<std::string>& HeaderFields();
// The PartnerEvent fields (by name) `set` may hold beyond the header.
const std::set<std::string>& FieldsOf(v1::FieldSet set);

// What Project knows beyond the event itself.
struct ProjectionInput {
  // The referral's latest triage decision (the person id cleared).
  const v1::ReferralTriaged* decision = nullptr;
  // The provider of the event's assignment (advocacy events), when known.
  std::string provider_id;
};

// The partner event for `envelope` in field set `set`: type, time and field
// set, and the fields of `set` the event (and `input`) give. The caller sets
// the id, agency, referral ids, legal basis and sequence.
v1::PartnerEvent Project(const v1::EventEnvelope& envelope,
                         const ProjectionInput& input, v1::FieldSet set);

// The projections of one event, each computed once per field set however
// many agencies share in it (issue 16): agencies told in the same set get
// copies of one Project result, byte for byte what Project gives each. Keep
// it for the handling of one event only (`envelope` and the decision in
// `input` must outlive it). Not thread-safe.
class ProjectionCache {
 public:
  ProjectionCache(const v1::EventEnvelope& envelope, ProjectionInput input)
      : envelope_(envelope), input_(std::move(input)) {}

  // Project(envelope, input, set), computed on its first use.
  const v1::PartnerEvent& In(v1::FieldSet set);
  // How many projections were computed (one per distinct set used).
  int computed() const { return static_cast<int>(by_set_.size()); }

 private:
  const v1::EventEnvelope& envelope_;
  const ProjectionInput input_;
  std::map<v1::FieldSet, v1::PartnerEvent> by_set_;
};

// Clears every field of `event` that is neither a header field nor in
// FieldsOf(set).
void KeepOnly(v1::FieldSet set, v1::PartnerEvent* event);

// The stable id of the partner event for `internal_event_id` sent to
// `agency_id` in `set`: a name-based UUID (SHA-256, version 8 layout), the
// same on every transport and every resend.
std::string PartnerEventId(absl::string_view agency_id,
                           absl::string_view internal_event_id,
                           v1::FieldSet set);

// The partner topic of an agency: "signpost.partner.<agency_id>.v1".
std::string PartnerTopic(absl::string_view agency_id);

// "CONSENT" for LEGAL_BASIS_CONSENT, and so on.
std::string BasisName(v1::LegalBasis basis);

}  // namespace signpost::notification
