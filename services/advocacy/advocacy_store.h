// Advocacy's store: the directory (providers, advocates with live caseloads
// and availability), assignments with their lifecycle and history, and the
// waitlist. Every change, its capacity bookkeeping and its events commit in
// one transaction, so capacity is never overbooked and nothing is
// half-written. Offer expiry deadlines are rows, so they survive restarts.
// Thread-safe (the Database serialises access).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/events/event_consumer.h"
#include "common/store/database.h"
#include "services/advocacy/matching.h"
#include "signpost/v1/advocacy.pb.h"

namespace signpost::advocacy {

class AdvocacyStore {
 public:
  struct Options {
    // An offer not accepted within this time expires and is re-offered.
    absl::Duration offer_timeout = absl::Hours(24);
  };
  AdvocacyStore(store::Database& db, Options options)
      : db_(db), options_(options) {}
  explicit AdvocacyStore(store::Database& db) : AdvocacyStore(db, Options()) {}
  static std::vector<std::string> Migrations();

  // Directory. Changes that add capacity assign from the waitlist at once.
  absl::StatusOr<v1::ImportDirectoryResponse> ImportDirectory(
      const v1::Directory& directory, absl::Time now,
      const std::string& traceparent);
  absl::StatusOr<v1::Provider> UpsertProvider(const v1::Provider& provider);
  // The address is withheld unless `caller_org` is the provider itself.
  absl::StatusOr<v1::Provider> GetProvider(const std::string& provider_id,
                                           const std::string& caller_org);
  absl::StatusOr<v1::Advocate> UpsertAdvocate(const v1::Advocate& advocate,
                                              absl::Time now,
                                              const std::string& traceparent);
  absl::StatusOr<v1::Advocate> SetAvailability(
      const std::string& advocate_id, const v1::Availability& availability,
      absl::Time now, const std::string& traceparent);
  absl::StatusOr<std::vector<v1::Advocate>> ListAdvocates(
      v1::AdvocateRole role = v1::ADVOCATE_ROLE_UNSPECIFIED,
      const std::string& provider_id = "");

  // Routes a ReferralTriaged or ReferralReassessed event exactly once: one
  // assignment per advocate pathway not yet routed for the referral.
  // Returns how many assignments were created (0 for a duplicate).
  absl::StatusOr<int> RouteTriaged(const events::IncomingEvent& event,
                                   absl::Time now);

  // Lifecycle. FAILED_PRECONDITION names the rule for a refused transition;
  // NOT_FOUND for an unknown assignment.
  absl::StatusOr<v1::Assignment> Accept(
      const v1::AcceptAssignmentRequest& request, absl::Time now,
      const std::string& traceparent);
  absl::StatusOr<v1::Assignment> Decline(
      const v1::DeclineAssignmentRequest& request, absl::Time now,
      const std::string& traceparent);
  absl::StatusOr<v1::Assignment> RecordContact(
      const v1::RecordContactRequest& request, absl::Time now,
      const std::string& traceparent);
  absl::StatusOr<v1::Assignment> Close(const v1::CloseCaseRequest& request,
                                       absl::Time now,
                                       const std::string& traceparent);
  // Expires every offer past its deadline (each exactly once) and re-offers
  // it. Returns how many expired.
  absl::StatusOr<int> ExpireOffers(absl::Time now);

  absl::StatusOr<v1::GetReferralAssignmentsResponse> GetReferralAssignments(
      const std::string& referral_id);
  absl::StatusOr<v1::Assignment> GetAssignment(
      const std::string& assignment_id);
  absl::StatusOr<std::vector<v1::Assignment>> GetWorklist(
      const std::string& advocate_id);
  absl::StatusOr<v1::CheckCapacityResponse> CheckCapacity(
      const v1::CheckCapacityRequest& request, absl::Time now);

 private:
  store::Database& db_;
  const Options options_;
};

}  // namespace signpost::advocacy
