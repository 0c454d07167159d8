// Intake's store: referrals keyed by id and by idempotency key, people's
// blind indexes, consent changes, erasures and retention timers; SQL and row
// mapping only. The coded facts and the full referral (sealed with the
// person's data key) are kept in separate columns. Every method runs inside the
// caller's transaction. Thread-safe (stateless; the Database serialises
// access).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/crypto/keyring.h"
#include "common/ids/ids.h"
#include "common/store/database.h"
#include "services/intake/disclosure.h"
#include "services/intake/matching.h"
#include "signpost/v1/intake.pb.h"

namespace signpost::intake {

// A referral as it is first stored.
struct NewReferral {
  ReferralId referral_id;
  std::string idempotency_key;
  // DigestOf(referral, the person's data key): tells a retry from a reused
  // key.
  std::string request_digest;
  v1::ReferralFacts facts;
  // Codes only are read from it (area, source); the whole referral is
  // stored as `sealed_referral`.
  v1::Referral referral;
  absl::Time received_at;  // stored in milliseconds
  AgencyId submitted_by;   // the authenticated agency
  // The person the referral is about (Signpost's pseudonym) and the
  // referral sealed with that person's data key (common/crypto/keyring.h).
  std::string person_id;
  std::string sealed_referral;
  // Set when the referral joins an earlier one of the same person and
  // incident (stored LINKED); ACTIVE otherwise.
  ReferralId linked_to;
  // The incident, for linking later referrals (matching.h).
  std::string incident_digest;
  std::optional<absl::Time> incident_time;
};

// The format of a stored referral: sealed with the person's data key, or
// (rows written before encryption) plain.
inline constexpr char kSealedFormat[] = "aes256gcm-v1";
inline constexpr char kPlainFormat[] = "plain-v0";
// The person was erased: nothing is stored.
inline constexpr char kErasedFormat[] = "erased";

// An operator's break-glass read, with the reason it stated (sealed with
// the person's data key: it is free text).
struct BreakGlassRead {
  std::string access_id;
  AgencyId agency;
  ReferralId referral_id;
  std::string sealed_reason;
  absl::Time at;
};

// The referral an idempotency key was first used for.
struct KeyedReferral {
  ReferralId referral_id;
  std::string request_digest;
  absl::Time received_at;
  std::string person_id;  // "" for rows stored before encryption
};

// A stored referral as read back, still sealed.
struct StoredReferral {
  ReferralId referral_id;
  std::string person_id;
  std::string format;  // kSealedFormat or kPlainFormat
  std::string protected_referral;
  absl::Time received_at;
  v1::ReferralLifecycle lifecycle = v1::REFERRAL_LIFECYCLE_ACTIVE;
  ReferralId linked_to;
  std::optional<absl::Time> erased_at;
};

// A person found by a blind index.
struct PersonMatch {
  std::string person_id;
  IndexKind matched_by;
};

// Where a referral stands after submission, with its coded facts (whose
// consent changes apply to).
struct ReferralState {
  ReferralId referral_id;
  std::string person_id;
  v1::ReferralLifecycle lifecycle = v1::REFERRAL_LIFECYCLE_UNSPECIFIED;
  ReferralId linked_to;
  v1::ReferralFacts facts;
  std::string area_code;
  AgencyId submitted_by;
};

// One referral of a person, for erasure and retention.
struct PersonReferral {
  ReferralId referral_id;
  v1::ReferralLifecycle lifecycle = v1::REFERRAL_LIFECYCLE_UNSPECIFIED;
  std::string area_code;
  std::optional<absl::Time> closed_at;
};

// One erasure of a person.
struct ErasureRecord {
  std::string erasure_id;
  std::string person_id;
  v1::ErasureGround ground = v1::ERASURE_GROUND_UNSPECIFIED;
  std::string erased_by;      // an agency id, or "retention"
  std::string sealed_reason;  // not read back
  int referrals = 0;
  absl::Time erased_at;
};

// A referral as the application hands it on, opened.
struct ReceivedReferral {
  ReferralId referral_id;
  v1::Referral referral;
  absl::Time received_at;
};

class IntakeStore {
 public:
  static std::vector<std::string> Migrations();
  // SQL named for the tests of its plan (issue 16).
  // ?1 referral, ?2 lifecycle: the referrers of the referrals linked to it.
  static constexpr char kLinkedReferrersSql[] =
      "SELECT DISTINCT submitted_by FROM referrals WHERE linked_to = ?1 AND "
      "lifecycle = ?2 ORDER BY submitted_by";
  // LinkCandidates (?1 person, ?2 lifecycle, ?3 incident digest, ?4..?5 the
  // incident window, ?6 the referrer): the same crime reference through
  // (person_id, incident_digest) and the window through (person_id,
  // incident_time_ms), so that only those of the person's referrals are
  // read, not all of them (pinned: without statistics SQLite would rather
  // read all of them in received order).
  static constexpr char kLinkCandidatesSql[] =
      "SELECT referral_id, submitted_by, incident_digest, incident_time_ms, "
      "received_at_ms FROM referrals INDEXED BY referrals_person_incident "
      "WHERE person_id = ?1 AND length(?3) > 0 AND incident_digest = ?3 AND "
      "lifecycle = ?2 AND "
      "closed_at_ms IS NULL AND submitted_by != ?6 "
      "UNION "
      "SELECT referral_id, submitted_by, incident_digest, incident_time_ms, "
      "received_at_ms FROM referrals INDEXED BY referrals_person_time "
      "WHERE person_id = ?1 AND incident_time_ms BETWEEN ?4 AND ?5 AND "
      "lifecycle = ?2 AND "
      "closed_at_ms IS NULL AND submitted_by != ?6 "
      "ORDER BY received_at_ms, referral_id";
  // What OutboxService must never replay (store::ReplaySelection::guard):
  // the ReferralReceived of a referral withdrawn, cancelled or erased
  // since, which would route it again. Its withdrawal and erasure events
  // may be replayed.
  static constexpr char kReplayGuard[] =
      "NOT (event_type = 'signpost.v1.ReferralReceived' AND referral_id NOT "
      "IN (SELECT referral_id FROM referrals WHERE lifecycle IN (1, 2) AND "
      "erased_at_ms IS NULL))";

  absl::StatusOr<std::optional<KeyedReferral>> FindByIdempotencyKey(
      store::Tx& tx, absl::string_view idempotency_key) const;
  // ALREADY_EXISTS when the id or the key is taken.
  absl::Status Insert(store::Tx& tx, const NewReferral& referral) const;
  // nullopt when unknown; DATA_LOSS when the stored referral does not parse.
  absl::StatusOr<std::optional<StoredReferral>> Find(
      store::Tx& tx, const ReferralId& referral_id) const;
  absl::StatusOr<int64_t> Count(store::Tx& tx) const;

  // The matching key's check value, once recorded.
  absl::StatusOr<std::optional<std::string>> FindMatchingKeyCheck(
      store::Tx& tx) const;
  absl::Status InsertMatchingKeyCheck(store::Tx& tx,
                                      absl::string_view check_value) const;

  // Who submitted the referral, its area and the providers holding it;
  // nullopt when the referral is unknown.
  absl::StatusOr<std::optional<ReferralAccessFacts>> FindAccessFacts(
      store::Tx& tx, const ReferralId& referral_id) const;
  // A provider's offer (ignored when already recorded), or, with an empty
  // provider, a waiting assignment that keeps the referral open (given its
  // provider when the waitlist offers it).
  absl::Status PutHold(store::Tx& tx, const AssignmentId& assignment_id,
                       const ReferralId& referral_id,
                       const ProviderId& provider) const;
  absl::Status AcceptHold(store::Tx& tx,
                          const AssignmentId& assignment_id) const;
  // Declined, expired or closed: the provider no longer holds it.
  absl::Status EndHold(store::Tx& tx, const AssignmentId& assignment_id) const;
  // Triage's latest MARAC decision for the referral.
  absl::Status SetMarac(store::Tx& tx, const ReferralId& referral_id,
                        bool marac) const;
  absl::Status InsertBreakGlass(store::Tx& tx,
                                const BreakGlassRead& read) const;

  // People and linking. The person the strongest of `indexes` finds, and
  // which index found them.
  absl::StatusOr<std::optional<PersonMatch>> FindPerson(
      store::Tx& tx, const std::vector<BlindIndex>& indexes) const;
  absl::StatusOr<bool> HasIndexOfKind(store::Tx& tx,
                                      absl::string_view person_id,
                                      IndexKind kind) const;
  // Adds the entries not already taken (by this or another person).
  absl::Status PutIndexes(store::Tx& tx, absl::string_view person_id,
                          const std::vector<BlindIndex>& indexes) const;
  // Returns how many were deleted.
  absl::StatusOr<int64_t> DeleteIndexes(store::Tx& tx,
                                        absl::string_view person_id) const;
  // The person's open ACTIVE referrals (a closed one is not joined: the
  // later referral is routed afresh) from agencies other than `referrer` that
  // a new one might join (matching.h): the same incident digest, or an
  // incident within `window` of `incident_time`; oldest first.
  absl::StatusOr<std::vector<IncidentCandidate>> LinkCandidates(
      store::Tx& tx, absl::string_view person_id, const AgencyId& referrer,
      absl::string_view incident_digest,
      std::optional<absl::Time> incident_time, absl::Duration window) const;

  // The referral after submission. nullopt when unknown.
  absl::StatusOr<std::optional<ReferralState>> FindState(
      store::Tx& tx, const ReferralId& referral_id) const;
  // Writes `state.lifecycle` and `state.facts`.
  absl::Status UpdateState(store::Tx& tx, const ReferralState& state) const;
  absl::Status InsertConsentChange(store::Tx& tx, const ReferralId& referral_id,
                                   v1::Pathway pathway, v1::RjParty party,
                                   v1::ConsentStatus status,
                                   const AgencyId& recorded_by,
                                   absl::Time at) const;

  // Erasure and retention.
  absl::StatusOr<std::vector<PersonReferral>> ReferralsOfPerson(
      store::Tx& tx, absl::string_view person_id) const;
  // Clears an ACTIVE referral's closure; true when it had one.
  absl::StatusOr<bool> ClearClosed(store::Tx& tx,
                                   const ReferralId& referral_id) const;
  // The first closure only.
  absl::Status MarkClosed(store::Tx& tx, const ReferralId& referral_id,
                          absl::Time at) const;
  absl::StatusOr<int64_t> CountHolds(store::Tx& tx,
                                     const ReferralId& referral_id) const;
  // Deletes the sealed referral, its break-glass reasons and holds, and
  // stores `facts` (codes only) with the referral marked ERASED.
  absl::Status EraseReferral(store::Tx& tx, const ReferralId& referral_id,
                             const v1::ReferralFacts& facts,
                             absl::Time at) const;
  absl::Status InsertErasure(store::Tx& tx, const ErasureRecord& e) const;
  // The person's latest erasure (its sealed reason is not read).
  absl::StatusOr<std::optional<ErasureRecord>> FindErasure(
      store::Tx& tx, absl::string_view person_id) const;
  absl::Status PutRetentionTimer(store::Tx& tx, absl::string_view person_id,
                                 absl::Time due) const;
  absl::Status DeleteRetentionTimer(store::Tx& tx,
                                    absl::string_view person_id) const;
  // People whose retention timer is due at `now`, earliest first.
  absl::StatusOr<std::vector<std::string>> RetentionDue(store::Tx& tx,
                                                        absl::Time now,
                                                        int limit) const;
};

}  // namespace signpost::intake
