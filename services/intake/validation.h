// Intake's validation rules for a submitted referral, in plain code. Every
// bad field is reported at once; descriptions never echo the submitted value
// (it may be personal data). Thread-safe (pure).
#pragma once

#include "absl/time/time.h"
#include "common/errors/errors.h"
#include "signpost/v1/intake.pb.h"

namespace signpost::intake {

// Checks a SubmitReferralRequest. `now` bounds report and offence times
// (a small clock skew is allowed).
errors::FieldErrors ValidateSubmission(const v1::SubmitReferralRequest& request,
                                       absl::Time now);

// Checks a GetReferralRequest (the id must be a UUID).
errors::FieldErrors ValidateGetReferral(const v1::GetReferralRequest& request);

// The referral id of a request after submission (a UUID).
errors::FieldErrors ValidateReferralId(const std::string& referral_id);
// Checks an EraseVictimRequest: the id, a known ground, and a reason of
// 10-1000 characters without control characters.
errors::FieldErrors ValidateErasure(const v1::EraseVictimRequest& request);

// The coded facts of a referral (no personal data): what ReferralReceived
// carries, including ContactRulesOf(referral.safe_contact()).
v1::ReferralFacts ExtractFacts(const v1::Referral& referral);

// The victim's safe-contact rules as codes, for advocacy and notification
// to enforce. The safe address and the free-text note stay in intake: the
// rules only say whether there is an address. A letter is safe only when
// letter_safe is set *and* a safe address is given (a letter with nowhere
// safe to go is not safe); LETTER is then a safe channel, and otherwise it
// is not one, whatever safe_channels says. Channels are deduplicated.
v1::ContactRules ContactRulesOf(const v1::SafeContact& safe_contact);

}  // namespace signpost::intake
