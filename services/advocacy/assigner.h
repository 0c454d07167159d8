// Offers an assignment to the best eligible advocate or waitlists it, and
// assigns from the waitlist while capacity allows: each step with its
// capacity booking, history and event, inside the caller's transaction. Part
// of the application layer: AdvocacyApp's use cases call it after loading
// and before committing. Thread-safe (no state of its own).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "common/store/database.h"
#include "services/advocacy/assignment_lifecycle.h"
#include "services/advocacy/assignment_store.h"
#include "services/advocacy/directory_store.h"
#include "signpost/v1/events.pb.h"

namespace signpost::advocacy {

class Assigner {
 public:
  Assigner(DirectoryStore& directory, AssignmentStore& assignments,
           absl::Duration offer_timeout)
      : directory_(directory),
        assignments_(assignments),
        offer_timeout_(offer_timeout) {}

  // Offers `assignment` to the best eligible advocate, else waitlists it
  // (saving it, its history and its event). `action` says why: kRoute (new),
  // kDecline or kExpire (offered again), kOfferFromWaitlist (an assignment
  // nobody can take yet then stays waiting, with no new event). Returns
  // true when it was offered.
  absl::StatusOr<bool> OfferOrWaitlist(store::Tx& tx,
                                       AssignmentRecord& assignment,
                                       AssignmentAction action, absl::Time now,
                                       const std::string& traceparent,
                                       const v1::EventEnvelope* cause);
  // Offers from the head of the waitlist while capacity allows (priority,
  // then the earliest first-contact deadline, then arrival). Returns how
  // many were offered.
  absl::StatusOr<int> DrainWaitlist(store::Tx& tx, absl::Time now,
                                    const std::string& traceparent);

 private:
  // OfferOrWaitlist for a service referral: the provider offering the
  // service in the area, else waiting with PathwayUnserved.
  absl::StatusOr<bool> OfferService(store::Tx& tx, AssignmentRecord& assignment,
                                    AssignmentAction action, absl::Time now,
                                    const std::string& traceparent,
                                    const v1::EventEnvelope* cause);
  absl::StatusOr<MatchRequest> MatchRequestFor(
      store::Tx& tx, const AssignmentRecord& assignment, absl::Time now);
  absl::Status OfferTo(store::Tx& tx, AssignmentRecord& assignment,
                       AssignmentAction action, const MatchResult& match,
                       absl::Time now, v1::EventEnvelope out,
                       const std::string& traceparent);
  absl::Status WaitlistIt(store::Tx& tx, AssignmentRecord& assignment,
                          AssignmentAction action, const MatchResult& match,
                          absl::Time now, v1::EventEnvelope out,
                          const std::string& traceparent);

  DirectoryStore& directory_;
  AssignmentStore& assignments_;
  const absl::Duration offer_timeout_;
};

// Appends one of advocacy's events to the outbox (in the caller's
// transaction), stamping its type.
absl::Status Emit(store::Tx& tx, v1::EventEnvelope envelope,
                  const std::string& traceparent);

// A history step.
v1::AssignmentStep Step(absl::Time at, absl::string_view step,
                        const AdvocateId& advocate, std::string detail = "");

}  // namespace signpost::advocacy
