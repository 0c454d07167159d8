// Triage's application layer: one use case per method, each in one
// transaction that loads (TriageStore), decides (rules.h), persists and
// emits its events through the outbox. ReferralReceived runs in the event
// consumer's transaction (the consumer has claimed the inbox); the API's use
// cases open their own. Callers wake the outbox relay after a commit.
// Thread-safe (the database serialises transactions; the policy is an
// immutable snapshot).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/access/authz.h"
#include "common/crypto/person_keys.h"
#include "common/ids/ids.h"
#include "common/paging/page.h"
#include "common/store/database.h"
#include "google/protobuf/timestamp.pb.h"
#include "services/triage/policy.h"
#include "services/triage/triage_store.h"
#include "signpost/v1/events.pb.h"
#include "signpost/v1/referral.pb.h"
#include "signpost/v1/triage.pb.h"

namespace signpost::triage {

// ListMaracAgenda pages by (decided_at, referral_id).
inline constexpr paging::KeyKind kMaracAgendaKeys[] = {paging::KeyKind::kInt,
                                                       paging::KeyKind::kText};
inline constexpr paging::Listing kMaracAgendaListing{"ListMaracAgenda",
                                                     kMaracAgendaKeys};

// New assessment facts from a practitioner.
struct Reassessment {
  ReferralId referral_id;
  v1::Assessment assessment;  // replaces the referral's assessment
  std::optional<google::protobuf::Timestamp> new_incident_time;
  std::string practitioner_id;
};

// A practitioner's professional judgement of the risk.
struct RiskJudgement {
  ReferralId referral_id;
  v1::RiskLevel risk = v1::RISK_LEVEL_UNSPECIFIED;
  std::string practitioner_id;
  std::string reason;  // free text: stored, never emitted
};

// What one VictimErased did in triage (counts only: for the log).
struct ErasureResult {
  bool key_destroyed = false;
  // A version deciding the erasure (WITHDRAWN, ERASED) was made because no
  // ReferralWithdrawn(ERASED) came first (the referral was already
  // withdrawn or cancelled, so intake sent none).
  bool redecided = false;
  int reasons_blanked = 0;
  int history_deleted = 0;
};

// What a consumed intake event (consent, withdrawal) did to a decision.
struct Redecided {
  // The new version; nullopt when nothing was written.
  std::optional<v1::DecisionVersion> version;
  // Why nothing was written: the referral is withdrawn (consent events are
  // then ignored), rather than one triage never decided.
  bool already_withdrawn = false;
};

class TriageApp {
 public:
  // `keys` (required) seals free text with the person's data key.
  TriageApp(store::Database& db, std::shared_ptr<const Policy> policy,
            std::shared_ptr<const crypto::PersonKeys> keys)
      : db_(db), policy_(std::move(policy)), keys_(std::move(keys)) {}

  // Decides the first version for a ReferralReceived `received`, inside the
  // consumer's `tx`, and emits ReferralTriaged (caused by `received`).
  absl::StatusOr<v1::ReferralTriaged> TriageReceived(
      store::Tx& tx, const v1::EventEnvelope& received,
      const std::string& traceparent);

  // ConsentUpdated (`event`, inside the consumer's `tx`): the referral's
  // consent becomes the event's and a new version is decided (cause
  // CONSENT), emitting ReferralReassessed caused by `event`. No version, and
  // nothing written, for a referral triage has not decided, or one already
  // withdrawn (already_withdrawn: a withdrawal is final).
  absl::StatusOr<Redecided> ConsentUpdated(store::Tx& tx,
                                           const v1::EventEnvelope& event,
                                           const std::string& traceparent);

  // ReferralWithdrawn: the facts record the reason and a new version is
  // decided (cause WITHDRAWN: status WITHDRAWN; MARAC kept on its legal
  // basis, or left for erased / entered in error / duplicate). No version
  // for a referral triage has not decided.
  absl::StatusOr<Redecided> Withdrawn(store::Tx& tx,
                                      const v1::EventEnvelope& event,
                                      const std::string& traceparent);

  // VictimErased: destroys the person's data key (and the referral's own,
  // used when it had no person), blanks the referral's override reasons,
  // unlinks the person from its facts and deletes their victim history.
  // Coded decisions stay. A decided referral whose facts do not yet record
  // the erasure (it was withdrawn or cancelled before, so intake sent no
  // ReferralWithdrawn(ERASED)) gets a new version withdrawn as ERASED,
  // which takes it out of MARAC. Idempotent; a referral triage never saw
  // erases whatever it has of the person.
  absl::StatusOr<ErasureResult> EraseVictim(store::Tx& tx,
                                            const v1::EventEnvelope& event,
                                            const std::string& traceparent);

  // A new version from new facts; emits ReferralReassessed. NOT_FOUND for a
  // referral without a decision; FAILED_PRECONDITION naming
  // REFERRAL-WITHDRAWN, writing nothing, for a withdrawn one.
  // Referrer of the referral or operator (RequireReferralAccess).
  absl::StatusOr<v1::DecisionVersion> Reassess(const access::Principal& caller,
                                               const Reassessment& r,
                                               const std::string& traceparent);

  // A new version from a practitioner's judgement, which only raises
  // (FAILED_PRECONDITION naming PJ-RAISE otherwise, writing nothing). Emits
  // RiskOverridden and ReferralReassessed. NOT_FOUND and REFERRAL-WITHDRAWN
  // as for Reassess (nothing sealed for a withdrawn or erased referral).
  // Referrer of the referral, or the MARAC coordinator of its area.
  absl::StatusOr<v1::DecisionVersion> OverrideRisk(
      const access::Principal& caller, const RiskJudgement& j,
      const std::string& traceparent);

  // Every decision version, oldest first: for the referrer, the MARAC
  // coordinator and police of the referral's area, operators and auditors.
  // NOT_FOUND when there is none, for every caller.
  absl::StatusOr<std::vector<v1::DecisionVersion>> GetDecision(
      const access::Principal& caller, const ReferralId& referral_id);

  // The override reasons of the referral's versions, opened, by version
  // (not on the API: for audit and tests). As OverrideRisk for who may.
  absl::StatusOr<std::vector<std::pair<int, std::string>>> OverrideReasons(
      const access::Principal& caller, const ReferralId& referral_id);

  // One page of the area's referrals heading for MARAC, oldest decision
  // first (kMaracAgendaListing), each with the MARAC-* reasons that sent it.
  // A MARAC coordinator sees its own areas only (AUTHZ-OWN-AREA).
  absl::StatusOr<paging::Page<v1::MaracAgendaItem>> ListMaracAgenda(
      const access::Principal& caller, const std::string& area_code,
      const paging::PageRequest& page = {});

 private:
  // Loads the referral's record for `caller` under `rule`; an unknown
  // referral is refused as RequireReferralAccess says.
  absl::StatusOr<ReferralRecord> LoadReferral(store::Tx& tx,
                                              const access::Principal& caller,
                                              const access::ReferralRule& rule,
                                              const ReferralId& referral_id);
  // Decides the next version of `referral` (its facts as they now stand,
  // its latest decision the previous version) under `override_risk`.
  absl::StatusOr<v1::ReferralTriaged> DecideNextVersion(
      store::Tx& tx, const ReferralId& referral_id,
      const ReferralRecord& referral, const RiskOverride& override_risk);
  // Persists `record` (a version after `referral.latest`) and emits `audit`
  // (if set), then ReferralReassessed (caused by `audit`, else by `cause`).
  absl::StatusOr<v1::DecisionVersion> RecordNewVersion(
      store::Tx& tx, const ReferralId& referral_id,
      const ReferralRecord& referral, const DecisionRecord& record,
      v1::EventEnvelope* audit, const v1::EventEnvelope* cause,
      const std::string& traceparent);
  // A new version from changed facts carried by a consumed `event` (consent,
  // withdrawal): the referral's override stays in force. With
  // `unless_withdrawn`, a withdrawn referral is left as it is.
  absl::StatusOr<Redecided> RedecideFromEvent(
      store::Tx& tx, const v1::EventEnvelope& event, const char* cause,
      bool unless_withdrawn,
      const std::function<void(v1::ReferralFacts&)>& change,
      const std::string& traceparent);
  // The data key owner of a referral's free text: its person, or the
  // referral itself when it has none.
  static std::string KeyOwner(const ReferralId& referral_id,
                              const v1::ReferralFacts& facts);

  store::Database& db_;
  const std::shared_ptr<const Policy> policy_;
  const std::shared_ptr<const crypto::PersonKeys> keys_;
  TriageStore store_;
};

}  // namespace signpost::triage
