// Assignment rows: the assignments with their history, and the referrals
// whose triage decision has been routed. SQL and row mapping only; every
// method works inside the caller's transaction. Thread-safe (stateless).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "common/store/database.h"
#include "services/advocacy/assignment_lifecycle.h"
#include "signpost/v1/advocacy.pb.h"
#include "signpost/v1/common.pb.h"

namespace signpost::advocacy {

// The waitlist of one pathway in one locality.
struct WaitlistSummary {
  int length = 0;
  std::optional<absl::Time> oldest_waiting_since;
};

// A staff note as stored with its history step: sealed (format
// crypto::kSealedFieldFormat) or, from before sealing, plaintext (format '').
struct StoredNote {
  int64_t seq = 0;
  std::string step;
  std::string advocate_id;
  std::string format;
  std::string note;
};

// A value sealed by the application (crypto::SealField), with its format.
struct SealedValue {
  std::string format;
  std::string sealed;
};

class AssignmentStore {
 public:
  // ?1 victim, ?2 assignment excluded: AdvocatesWhoSupportedVictim's SQL
  // (named for the test of its plan and cost). Skips from one advocate to
  // the next in the index of (victim_ref, state, advocate_id, assignment_id)
  // for each supporting state (ACCEPTED, ACTIVE, CLOSED) instead of reading
  // every assignment of the victim.
  static constexpr char kSupportedVictimSql[] =
      "WITH RECURSIVE supported(state, advocate_id) AS ("
      "SELECT s.state, (SELECT MIN(advocate_id) FROM assignments "
      "WHERE victim_ref = ?1 AND state = s.state AND advocate_id > '' "
      "AND assignment_id != ?2) "
      "FROM (SELECT 3 AS state UNION ALL SELECT 4 UNION ALL SELECT 5) s "
      "UNION ALL "
      "SELECT p.state, (SELECT MIN(advocate_id) FROM assignments "
      "WHERE victim_ref = ?1 AND state = p.state "
      "AND advocate_id > p.advocate_id AND assignment_id != ?2) "
      "FROM supported p WHERE p.advocate_id IS NOT NULL) "
      "SELECT DISTINCT advocate_id FROM supported "
      "WHERE advocate_id IS NOT NULL ORDER BY advocate_id";

  // NOT_FOUND naming the assignment when there is none.
  absl::StatusOr<AssignmentRecord> Load(store::Tx& tx,
                                        const AssignmentId& assignment_id);
  // Inserts or replaces the row.
  absl::Status Save(store::Tx& tx, const AssignmentRecord& assignment);
  // True when the referral has an assignment for `pathway` that was not
  // released (a released pathway may be routed again, e.g. consent given
  // again after a withdrawal).
  absl::StatusOr<bool> Exists(store::Tx& tx, const ReferralId& referral_id,
                              v1::Pathway pathway);
  // The same for a service referral of `service`.
  absl::StatusOr<bool> ServiceExists(store::Tx& tx,
                                     const ReferralId& referral_id,
                                     v1::ServiceKind service);
  // Assignments with a watched deadline (first contact, referral to
  // support, the next update: deadline_watch.h) within `lead` of `now` and
  // not yet warned of, or past and not yet reported missed; oldest
  // assignment first (at most 200).
  // Service referrals of the `unwatched` kinds are left out.
  absl::StatusOr<std::vector<AssignmentRecord>> DeadlinesDue(
      store::Tx& tx, absl::Time now, absl::Duration lead,
      const std::set<v1::ServiceKind>& unwatched);
  // When the next of those reports falls due.
  absl::StatusOr<std::optional<absl::Time>> NextDeadlineReport(
      store::Tx& tx, absl::Duration lead,
      const std::set<v1::ServiceKind>& unwatched);
  // A Victims' Code update given (for the figures).
  absl::Status AddUpdate(store::Tx& tx, const AssignmentId& id, absl::Time at,
                         v1::UpdateKind kind, std::optional<absl::Time> due,
                         bool within_deadline);
  // The provider's offered and acknowledged service referrals, soonest
  // first-contact deadline first.
  absl::StatusOr<std::vector<AssignmentRecord>> ProviderWorklist(
      store::Tx& tx, const ProviderId& provider_id);
  // Oldest first, then by pathway.
  absl::StatusOr<std::vector<AssignmentRecord>> ForReferral(
      store::Tx& tx, const ReferralId& referral_id);
  // Waitlisted assignments in the order they are to be served: priority,
  // then the earliest first-contact deadline, then arrival.
  absl::StatusOr<std::vector<AssignmentRecord>> Waitlisted(store::Tx& tx);
  // Offers whose deadline is at or before `now`, earliest first.
  absl::StatusOr<std::vector<AssignmentRecord>> OffersDueBy(store::Tx& tx,
                                                            absl::Time now);
  // The earliest deadline of any pending offer.
  absl::StatusOr<std::optional<absl::Time>> EarliestOfferDeadline(
      store::Tx& tx);
  // The advocate's offered, accepted and active assignments, soonest
  // deadline first: an uncontacted case's first-contact deadline, else its
  // offer deadline; contacted cases after, oldest first.
  absl::StatusOr<std::vector<AssignmentRecord>> Worklist(
      store::Tx& tx, const AdvocateId& advocate_id);
  absl::StatusOr<WaitlistSummary> SummariseWaitlist(
      store::Tx& tx, v1::Pathway pathway, const std::string& locality);
  // Advocates who accepted (or went on to support or close) another
  // assignment for the same victim, by id. Reads a few index entries per
  // such advocate, however many assignments the victim has.
  absl::StatusOr<std::vector<AdvocateId>> AdvocatesWhoSupportedVictim(
      store::Tx& tx, const std::string& victim_ref, const AssignmentId& except);

  // Appends a step.
  absl::Status AddHistory(store::Tx& tx, const AssignmentId& assignment_id,
                          const v1::AssignmentStep& step);
  // The seq the assignment's next step gets (a sealed note's row id).
  absl::StatusOr<int64_t> NextHistorySeq(store::Tx& tx,
                                         const AssignmentId& assignment_id);
  // Appends a step as `seq` (NextHistorySeq) with a staff note (free text,
  // kept here only) already sealed in `format`.
  absl::Status AddHistoryWithNote(store::Tx& tx,
                                  const AssignmentId& assignment_id,
                                  int64_t seq, const v1::AssignmentStep& step,
                                  const std::string& note,
                                  const std::string& format);
  absl::StatusOr<std::vector<v1::AssignmentStep>> History(
      store::Tx& tx, const AssignmentId& assignment_id);
  // The assignment's non-empty notes, in step order.
  absl::StatusOr<std::vector<StoredNote>> Notes(
      store::Tx& tx, const AssignmentId& assignment_id);

  // The referral's safe-contact rules (v1::ContactRules), sealed; the latest
  // decision's replace the earlier ones.
  absl::Status SaveContactRules(store::Tx& tx, const ReferralId& referral_id,
                                const SealedValue& rules);
  absl::StatusOr<std::optional<SealedValue>> FindContactRules(
      store::Tx& tx, const ReferralId& referral_id);

  // Erasure of the referral's person: deletes its safe-contact rules, blanks
  // every note of the referral's assignments and clears their victim_ref
  // (the person's pseudonym), so nothing links them to the person or to
  // each other. Idempotent.
  absl::Status EraseReferralPerson(store::Tx& tx,
                                   const ReferralId& referral_id);

  // Records that the referral's decision (with its status) was routed.
  absl::Status MarkRouted(store::Tx& tx, const ReferralId& referral_id,
                          v1::ReferralStatus status, absl::Time now);
  absl::StatusOr<bool> IsRouted(store::Tx& tx, const ReferralId& referral_id);

  // Records that the referral's person was erased (the first time only).
  absl::Status MarkErased(store::Tx& tx, const ReferralId& referral_id,
                          absl::Time now);
  absl::StatusOr<bool> IsErased(store::Tx& tx, const ReferralId& referral_id);
};

}  // namespace signpost::advocacy
