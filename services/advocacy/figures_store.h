// Advocacy's figures store: SQL and row mapping only, over coded columns and
// times (no names, no notes, no victim references). Every function works
// inside the caller's transaction. Thread-safe (stateless).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/store/database.h"
#include "signpost/v1/advocacy.pb.h"
#include "signpost/v1/common.pb.h"

namespace signpost::advocacy {

// One assignment as the figures see it. Times are Unix milliseconds, 0 for
// "not yet".
struct AssignmentFigureRow {
  std::string referral_id;
  v1::Pathway pathway = v1::PATHWAY_UNSPECIFIED;
  v1::ServiceKind service = v1::SERVICE_KIND_UNSPECIFIED;
  v1::AssignmentState state = v1::ASSIGNMENT_STATE_UNSPECIFIED;
  // The provider serving it: the service referral's, else its advocate's;
  // "" while nobody is.
  std::string provider_id;
  int64_t created_at_ms = 0;
  int64_t waitlisted_at_ms = 0;
  int64_t offered_at_ms = 0;
  int64_t first_contact_due_ms = 0;
  int64_t first_contact_at_ms = 0;
  int64_t referral_due_ms = 0;
  // An update deadline that passed with no update since (the watchdog's
  // mark; cleared by the next update, which is then a late update).
  int64_t update_missed_ms = 0;
  int64_t closed_at_ms = 0;
  // OutcomeAnswer codes at closure and at first contact (baseline).
  v1::OutcomeAnswer feels_safer = v1::OUTCOME_ANSWER_UNSPECIFIED;
  v1::OutcomeAnswer copes_better = v1::OUTCOME_ANSWER_UNSPECIFIED;
  v1::OutcomeAnswer better_informed = v1::OUTCOME_ANSWER_UNSPECIFIED;
  v1::OutcomeAnswer baseline_feels_safe = v1::OUTCOME_ANSWER_UNSPECIFIED;
  v1::OutcomeAnswer baseline_copes = v1::OUTCOME_ANSWER_UNSPECIFIED;
  v1::OutcomeAnswer baseline_informed = v1::OUTCOME_ANSWER_UNSPECIFIED;
};

// An offer answered: the step ("ACCEPTED", "DECLINED" or "EXPIRED") and
// the provider whose advocate (or who, for a service referral) answered.
struct OfferAnswer {
  std::string step;
  std::string provider_id;
  v1::Pathway pathway = v1::PATHWAY_UNSPECIFIED;
  v1::ServiceKind service = v1::SERVICE_KIND_UNSPECIFIED;
};

// A Victims' Code update given.
struct UpdateGiven {
  bool within_deadline = false;
  // The deadline it answered; 0 when no update clock was running.
  int64_t due_ms = 0;
  v1::Pathway pathway = v1::PATHWAY_UNSPECIFIED;
  v1::ServiceKind service = v1::SERVICE_KIND_UNSPECIFIED;
};

// The area's assignments that can count in [from, to): created before `to`
// and not ended before `from`; plus every one waitlisted now.
absl::StatusOr<std::vector<AssignmentFigureRow>> AssignmentsForFigures(
    store::Tx& tx, const std::string& area_code, absl::Time from,
    absl::Time to);

// The area's offers accepted, declined or expired in [from, to).
absl::StatusOr<std::vector<OfferAnswer>> OfferAnswers(
    store::Tx& tx, const std::string& area_code, absl::Time from,
    absl::Time to);

// The area's updates given in [from, to).
absl::StatusOr<std::vector<UpdateGiven>> UpdatesGiven(
    store::Tx& tx, const std::string& area_code, absl::Time from,
    absl::Time to);

}  // namespace signpost::advocacy
