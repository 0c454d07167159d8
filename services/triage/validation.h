// Triage's field checks for its API requests, in plain code. Every bad
// field is reported at once; descriptions never echo the submitted value.
// Thread-safe (pure).
#pragma once

#include "absl/time/time.h"
#include "common/errors/errors.h"
#include "signpost/v1/triage.pb.h"

namespace signpost::triage {

errors::FieldErrors ValidateGetDecision(const v1::GetDecisionRequest& request);

// `now` bounds a new incident time (a small clock skew is allowed).
errors::FieldErrors ValidateReassess(const v1::ReassessRequest& request,
                                     absl::Time now);

errors::FieldErrors ValidateOverride(const v1::OverrideRiskRequest& request);

errors::FieldErrors ValidateListMaracAgenda(
    const v1::ListMaracAgendaRequest& request);

}  // namespace signpost::triage
