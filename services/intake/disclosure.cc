#include "services/intake/disclosure.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/errors/errors.h"

namespace signpost::intake {
namespace {

Disclosure Allow(v1::FieldClass field_class, const char* rule) {
  return Disclosure{field_class, v1::ACCESS_DECISION_ALLOWED, rule};
}

}  // namespace

absl::StatusOr<Disclosure> DecideDisclosure(
    const access::Principal& caller, const ReferralId& referral_id,
    const std::optional<ReferralAccessFacts>& facts,
    absl::string_view break_glass_reason) {
  const std::string reason(absl::StripAsciiWhitespace(break_glass_reason));
  const bool operator_role = caller.Has(v1::ROLE_OPERATOR);
  if (!reason.empty() || !break_glass_reason.empty()) {
    if (!operator_role) {
      return errors::Denied(access::kRuleBreakGlass, referral_id.value(),
                            "only an operator may read with a break-glass "
                            "reason");
    }
    if (reason.size() < kMinBreakGlassReason) {
      return errors::FieldError(
          "break_glass_reason",
          absl::StrCat("must say why, in at least ", kMinBreakGlassReason,
                       " characters"));
    }
  }
  if (!facts.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("referral ", referral_id.value(), " not found"));
  }
  if (operator_role) {
    if (!reason.empty()) {
      return Disclosure{v1::FIELD_CLASS_PERSONAL,
                        v1::ACCESS_DECISION_BREAK_GLASS,
                        access::kRuleBreakGlass};
    }
    return Allow(v1::FIELD_CLASS_IDS_AND_CODES, access::kRuleFunction);
  }
  {
    if (caller.Has(v1::ROLE_REFERRER) &&
        caller.agency_id() == facts->submitted_by) {
      return Allow(v1::FIELD_CLASS_PERSONAL, access::kRuleOwnReferral);
    }
    if (caller.Has(v1::ROLE_PROVIDER) && caller.provider().has_value()) {
      std::optional<v1::FieldClass> best;
      for (const ProviderHold& hold : facts->holds) {
        if (hold.provider != *caller.provider()) continue;
        if (hold.accepted) {
          best = v1::FIELD_CLASS_PERSONAL;
        } else if (!best.has_value()) {
          best = v1::FIELD_CLASS_IDS_AND_CODES;
        }
      }
      if (best.has_value()) return Allow(*best, access::kRuleOwnProvider);
    }
    if (caller.Has(v1::ROLE_MARAC_COORDINATOR) && facts->marac &&
        caller.Serves(facts->area_code)) {
      return Allow(v1::FIELD_CLASS_MARAC_SET, access::kRuleOwnArea);
    }
  }
  return errors::Denied(access::kRuleOwnReferral, referral_id.value(),
                        "not a referral the calling agency may read");
}

absl::Status DecideChange(const access::Principal& caller,
                          const ReferralId& referral_id,
                          const std::optional<ReferralAccessFacts>& facts,
                          bool accepted_provider) {
  if (!facts.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("referral ", referral_id.value(), " not found"));
  }
  if (caller.Has(v1::ROLE_REFERRER) &&
      caller.agency_id() == facts->submitted_by) {
    return absl::OkStatus();
  }
  if (accepted_provider && caller.Has(v1::ROLE_REFERRER) &&
      std::find(facts->linked_referrers.begin(), facts->linked_referrers.end(),
                caller.agency_id()) != facts->linked_referrers.end()) {
    return absl::OkStatus();
  }
  if (accepted_provider && caller.Has(v1::ROLE_PROVIDER) &&
      caller.provider().has_value()) {
    for (const ProviderHold& hold : facts->holds) {
      if (hold.provider == *caller.provider() && hold.accepted) {
        return absl::OkStatus();
      }
    }
  }
  return errors::Denied(access::kRuleOwnReferral, referral_id.value(),
                        accepted_provider
                            ? "not a referral of the calling agency, nor one "
                              "it holds an accepted assignment for"
                            : "not a referral of the calling agency");
}

v1::Referral Project(const v1::Referral& referral, v1::FieldClass field_class) {
  if (field_class == v1::FIELD_CLASS_PERSONAL) return referral;
  v1::Referral out = referral;
  out.mutable_victim()->clear_victim_ref();
  out.mutable_reporting()->clear_crime_reference();
  if (field_class == v1::FIELD_CLASS_MARAC_SET) {
    // DASH answers, consent and children stay (ids and codes), with the
    // safe-contact rules; the phone number only when phone is a safe
    // channel (domain.md section 5: the *safe* contact number). The safe
    // postal address is personal data, for the whole referral only.
    const auto& channels = referral.safe_contact().safe_channels();
    const bool phone_safe =
        std::find(channels.begin(), channels.end(),
                  v1::CONTACT_CHANNEL_PHONE) != channels.end();
    const std::string phone = referral.personal().phone();
    out.clear_personal();
    if (out.has_safe_contact()) {
      out.mutable_safe_contact()->clear_safe_address();
    }
    if (phone_safe) out.mutable_personal()->set_phone(phone);
    return out;
  }
  out.clear_personal();
  out.clear_safe_contact();
  return out;
}

}  // namespace signpost::intake
