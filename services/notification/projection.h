// Projections (issue 11): a partner event built from one internal event,
// holding only the agency's field set. Each internal event type has a
// partner type ("signpost.v1.ReferralTriaged" -> "referral.triaged") and
// the field sets that can carry it; Project fills what the event knows and
// then clears every field outside the set (KeepOnly), so a field set is
// enforced in one place whatever the event held. Pure domain code: no gRPC,
// no SQLite. Thread-safe (pure; the tables are immutable).
#pragma once

#include <set>
#include <string>

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
