// Intake's store: referrals keyed by id and by idempotency key, SQL and row
// mapping only. The coded facts and the full referral (which holds personal
// data) are kept in separate columns; the latter is the part a later issue
// encrypts at rest. Every method runs inside the caller's transaction.
// Thread-safe (stateless; the Database serialises access).
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
};

// The format of a stored referral: sealed with the person's data key, or
// (rows written before encryption) plain.
inline constexpr char kSealedFormat[] = "aes256gcm-v1";
inline constexpr char kPlainFormat[] = "plain-v0";

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

  absl::StatusOr<std::optional<KeyedReferral>> FindByIdempotencyKey(
      store::Tx& tx, absl::string_view idempotency_key) const;
  // ALREADY_EXISTS when the id or the key is taken.
  absl::Status Insert(store::Tx& tx, const NewReferral& referral) const;
  // nullopt when unknown; DATA_LOSS when the stored referral does not parse.
  absl::StatusOr<std::optional<StoredReferral>> Find(
      store::Tx& tx, const ReferralId& referral_id) const;
  absl::StatusOr<int64_t> Count(store::Tx& tx) const;

  // Who submitted the referral, its area and the providers holding it;
  // nullopt when the referral is unknown.
  absl::StatusOr<std::optional<ReferralAccessFacts>> FindAccessFacts(
      store::Tx& tx, const ReferralId& referral_id) const;
  // A provider's offer (ignored when already recorded).
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
};

}  // namespace signpost::intake
