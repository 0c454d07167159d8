// The directory's rows: providers, and advocates with their live caseloads,
// availability and the locality index that keeps matching independent of
// the directory's size. SQL and row mapping only; every method works inside
// the caller's transaction. Thread-safe (stateless).
#pragma once

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "common/paging/page.h"
#include "common/store/database.h"
#include "services/advocacy/matching.h"
#include "signpost/v1/advocacy.pb.h"

namespace signpost::advocacy {

class DirectoryStore {
 public:
  absl::Status UpsertProvider(store::Tx& tx, const v1::Provider& provider);
  // The provider with its address (never redacted here).
  absl::StatusOr<std::optional<v1::Provider>> FindProvider(
      store::Tx& tx, const ProviderId& provider_id);
  absl::StatusOr<bool> ProviderExists(store::Tx& tx,
                                      const ProviderId& provider_id);
  // The providers offering `kind` in `area` (or "*"), with their open
  // service referrals of that kind, by provider id.
  // Providers offering `kind` in an area, each with its open services of
  // that kind (offered or acknowledged: states 2, 3, 4), counted from the
  // covering index assignments_provider_service alone.
  static constexpr char kProvidersOfferingSql[] =
      "SELECT s.provider_id, (SELECT COUNT(*) FROM assignments a WHERE "
      "a.provider_id = s.provider_id AND a.service = s.kind AND a.state IN "
      "(2, 3, 4)) FROM provider_services s WHERE s.kind = ?1 AND s.area IN "
      "(?2, '*') GROUP BY s.provider_id ORDER BY s.provider_id";
  absl::StatusOr<std::vector<ServiceProviderView>> ProvidersOffering(
      store::Tx& tx, v1::ServiceKind kind, const std::string& area);

  // Inserts or updates the advocate (its caseload is kept).
  absl::Status UpsertAdvocate(store::Tx& tx, const v1::Advocate& advocate);
  absl::StatusOr<std::optional<v1::Advocate>> FindAdvocate(
      store::Tx& tx, const AdvocateId& advocate_id);
  absl::StatusOr<bool> AdvocateExists(store::Tx& tx,
                                      const AdvocateId& advocate_id);
  // One page of the advocates by advocate_id (the key); UNSPECIFIED role
  // and no provider mean any.
  absl::StatusOr<paging::Page<v1::Advocate>> ListAdvocates(
      store::Tx& tx, v1::AdvocateRole role,
      const std::optional<ProviderId>& provider_id,
      const paging::PageRequest& page);
  // False when there is no such advocate.
  absl::StatusOr<bool> SetAvailability(store::Tx& tx,
                                       const AdvocateId& advocate_id,
                                       const v1::Availability& availability);

  // Every advocate of `role`.
  absl::StatusOr<std::vector<AdvocateView>> AdvocatesWithRole(
      store::Tx& tx, v1::AdvocateRole role);
  // The advocates of `role` that could take a case in `locality` now
  // (serving it or "*", not on leave, below capacity): the fast path.
  absl::StatusOr<std::vector<AdvocateView>> OpenAdvocates(
      store::Tx& tx, v1::AdvocateRole role, const std::string& locality);

  // Takes one place of the advocate's capacity and stamps the assignment
  // time. False when no place was free.
  absl::StatusOr<bool> ReserveCapacity(store::Tx& tx,
                                       const AdvocateId& advocate_id,
                                       absl::Time now);
  absl::Status ReleaseCapacity(store::Tx& tx, const AdvocateId& advocate_id);
};

}  // namespace signpost::advocacy
