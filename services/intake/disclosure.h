// Who sees how much of a referral (issue 9's object and property rules for
// IntakeService.GetReferral). Pure domain code: no gRPC, no SQLite.
//
//   referrer (the agency that submitted it)   the whole referral
//   provider holding an accepted assignment   the whole referral
//   provider holding an offer                 ids and codes
//   MARAC coordinator of the referral's area  the MARAC field set, once
//                                             triage sends it to MARAC
//   operator                                  ids and codes; the whole
//                                             referral only with a stated
//                                             break-glass reason (audited)
//   anyone else                               refused (AUTHZ-OWN-REFERRAL)
//
// An unknown referral id is NOT_FOUND to every caller (ids are random
// UUIDs: the answer gives nothing away).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/access/authz.h"
#include "common/ids/ids.h"
#include "signpost/v1/events.pb.h"
#include "signpost/v1/referral.pb.h"

namespace signpost::intake {

// A provider's hold on a referral, from advocacy's events.
struct ProviderHold {
  ProviderId provider;
  bool accepted = false;  // false: offered, not yet accepted
};

// What intake knows about who may see one referral.
struct ReferralAccessFacts {
  AgencyId submitted_by;
  std::string area_code;
  // Current offers and accepted assignments (ended ones are not listed).
  std::vector<ProviderHold> holds;
  // Triage's latest decision sends it to MARAC.
  bool marac = false;
  // Agencies whose own referral of the same person and incident was linked
  // to this one: they may record consent on it (DecideChange), not read it.
  std::vector<AgencyId> linked_referrers;
};

struct Disclosure {
  v1::FieldClass field_class = v1::FIELD_CLASS_NONE;
  v1::AccessDecision decision = v1::ACCESS_DECISION_UNSPECIFIED;
  // The rule that allowed it (an AUTHZ-* id).
  std::string rule_id;
};

// A break-glass reason must say why in at least this many characters.
inline constexpr size_t kMinBreakGlassReason = 10;

// Decides what `caller` may see of a referral. `facts` is nullopt when the
// referral is unknown: NOT_FOUND.
// A break-glass reason from anyone but an operator, or shorter than
// kMinBreakGlassReason, is refused (AUTHZ-BREAK-GLASS).
absl::StatusOr<Disclosure> DecideDisclosure(
    const access::Principal& caller, const ReferralId& referral_id,
    const std::optional<ReferralAccessFacts>& facts,
    absl::string_view break_glass_reason);

// Whether `caller` may change a referral after submission (consent,
// cancellation): its referrer, and, when `accepted_provider` (consent), a
// referrer whose linked referral joined it or a provider holding an
// accepted assignment for it. NOT_FOUND for an unknown referral;
// PERMISSION_DENIED (AUTHZ-OWN-REFERRAL) otherwise.
absl::Status DecideChange(const access::Principal& caller,
                          const ReferralId& referral_id,
                          const std::optional<ReferralAccessFacts>& facts,
                          bool accepted_provider);

// `referral` reduced to `field_class`: PERSONAL keeps everything;
// MARAC_SET keeps ids and codes plus the MARAC field set (DASH answers,
// consent, safe contact without the safe address, the victim's phone when
// phone is a safe channel, children in the household);
// IDS_AND_CODES drops every name, contact detail, reference and free text.
v1::Referral Project(const v1::Referral& referral, v1::FieldClass field_class);

}  // namespace signpost::intake
