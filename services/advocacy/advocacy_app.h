// Advocacy's application layer: one use case per method, each in one
// transaction that loads (the stores), decides (the assignment lifecycle and
// matching), persists and emits (the outbox). Changes that free or add
// capacity offer from the waitlist in the same transaction. RouteTriaged runs
// in the event consumer's transaction (the consumer has claimed the inbox).
//
// Times passed in are stamped on rows and events; they are truncated to
// milliseconds first, so a response and a later read agree exactly. Errors:
// NOT_FOUND for an id advocacy has never seen (a referral it never routed,
// an assignment or advocate it does not have), PERMISSION_DENIED for another
// provider's, FAILED_PRECONDITION naming the rule for a refused transition,
// INVALID_ARGUMENT naming the field.
//
// Staff notes are free text: they are sealed at rest with the person's data
// key (crypto::PersonKeys; owner = the assignment's person id, or the
// referral id when it has none), and shredded when the person is erased.
// Thread-safe (the Database serialises transactions).
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/access/authz.h"
#include "common/crypto/person_keys.h"
#include "common/ids/ids.h"
#include "common/paging/page.h"
#include "common/store/database.h"
#include "services/advocacy/assigner.h"
#include "services/advocacy/assignment_lifecycle.h"
#include "services/advocacy/assignment_store.h"
#include "services/advocacy/deadline_watch.h"
#include "services/advocacy/directory_store.h"
#include "signpost/v1/advocacy.pb.h"
#include "signpost/v1/events.pb.h"

namespace signpost::advocacy {

// ListAdvocates pages by advocate_id (unique).
inline constexpr paging::KeyKind kAdvocateListKeys[] = {paging::KeyKind::kText};
inline constexpr paging::Listing kAdvocateListing{"ListAdvocates",
                                                  kAdvocateListKeys};

// A decline as the advocate gave it. The note is staff free text: it is
// kept with the history only, never in events or logs.
struct DeclineDetails {
  v1::DeclineReason reason = v1::DECLINE_REASON_UNSPECIFIED;
  std::string note;
};

struct ContactAttempt {
  v1::ContactChannel channel = v1::CONTACT_CHANNEL_UNSPECIFIED;
  v1::ContactOutcome outcome = v1::CONTACT_OUTCOME_UNSPECIFIED;
  // When it happened; unset means now.
  std::optional<absl::Time> at;
  bool voicemail_left = false;
  // Why a contact the safe-contact rules forbid was made anyway (staff free
  // text, sealed with the step); empty for none.
  std::string override_reason;
  // With a successful first contact: the outcome baseline asked then.
  std::optional<v1::OutcomeBaseline> baseline;
};

// A staff note as written, opened; empty when the person was erased.
struct StepNote {
  int64_t seq = 0;
  std::string step;
  std::string advocate_id;
  std::string note;
};

// What ExpireDueOffers did.
struct OfferExpiry {
  int expired = 0;
  // The earliest deadline still pending; unset when no offer is pending.
  std::optional<absl::Time> next_deadline;
};

class AdvocacyApp {
 public:
  struct Options {
    // An offer not accepted within this time expires and is re-offered.
    absl::Duration offer_timeout = absl::Hours(24);
    // How soon ExpireOffers asks to run again after a failed pass.
    absl::Duration expiry_retry = absl::Seconds(30);
    // The zone safe-contact windows are in (Europe/London in service).
    absl::TimeZone zone = absl::UTCTimeZone();
    // DeadlineApproaching fires this long before a watched deadline.
    absl::Duration deadline_lead = absl::Hours(4);
    // The working-day calendar of the update clock (SLA-UPDATES); without
    // one, updates are recorded but their deadlines are not tracked.
    std::shared_ptr<const calendar::WorkingCalendar> calendar;
  };
  // `keys` seal and open staff notes (ServiceHost::person_keys()).
  AdvocacyApp(store::Database& db,
              std::shared_ptr<const crypto::PersonKeys> keys, Options options);
  AdvocacyApp(store::Database& db,
              std::shared_ptr<const crypto::PersonKeys> keys)
      : AdvocacyApp(db, std::move(keys), Options()) {}

  // Directory. `directory` has been validated (ValidateDirectory); an
  // advocate of an unknown provider is INVALID_ARGUMENT and nothing is
  // imported.
  absl::StatusOr<v1::ImportDirectoryResponse> ImportDirectory(
      const v1::Directory& directory, absl::Time now,
      const std::string& traceparent);
  // Replaces the provider's own record. Its services are the operator's
  // (ImportDirectory): a change to them is refused (AUTHZ-OWN-PROVIDER).
  absl::StatusOr<v1::Provider> UpsertProvider(const access::Principal& caller,
                                              const v1::Provider& provider);
  // The address is withheld unless `caller` is the provider itself; a
  // confidential address released to it is written to the access audit.
  struct ProviderView {
    v1::Provider provider;
    bool audited = false;
  };
  absl::StatusOr<ProviderView> GetProvider(const access::Principal& caller,
                                           const ProviderId& provider_id,
                                           const std::string& traceparent);
  absl::StatusOr<v1::Advocate> UpsertAdvocate(const access::Principal& caller,
                                              const v1::Advocate& advocate,
                                              absl::Time now,
                                              const std::string& traceparent);
  absl::StatusOr<v1::Advocate> SetAvailability(
      const access::Principal& caller, const AdvocateId& advocate_id,
      const v1::Availability& availability, absl::Time now,
      const std::string& traceparent);
  // One page of the advocates, by advocate_id (kAdvocateListing).
  absl::StatusOr<paging::Page<v1::Advocate>> ListAdvocates(
      const access::Principal& caller,
      v1::AdvocateRole role = v1::ADVOCATE_ROLE_UNSPECIFIED,
      const std::optional<ProviderId>& provider_id = std::nullopt,
      const paging::PageRequest& page = {});

  // Routes a ReferralTriaged or ReferralReassessed envelope inside the
  // consumer's transaction. A ROUTED decision releases the referral's open
  // assignments whose pathway it no longer has (PATHWAY_REMOVED) and
  // creates one assignment per advocate pathway that has none (a released
  // one does not count: consent given again routes again). A WITHDRAWN
  // decision releases every open assignment (REFERRAL_WITHDRAWN). Each
  // release frees the advocate's place, records a RELEASED step, emits
  // AssignmentReleased, and the waitlist is then drained.
  //
  // A decision for a referral whose person was erased (VictimErased comes
  // on the intake topic, so it may overtake the decision) creates and
  // releases nothing (logged, ids only): the erasure released everything.
  //
  // CONSENT_REQUIRED or ASSESSMENT_INCOMPLETE creates nothing and releases
  // nothing: after a ROUTED version that should not happen (withdrawal is
  // its own status), so existing assignments, possibly a live case with a
  // high-risk victim, are kept and a warning is logged rather than ended on
  // an anomaly. Returns how many assignments were created.
  absl::StatusOr<int> RouteTriaged(store::Tx& tx,
                                   const v1::EventEnvelope& envelope,
                                   const std::string& traceparent,
                                   absl::Time now);

  // Handles VictimErased inside the consumer's transaction: releases every
  // open assignment of the referral as a WITHDRAWN decision does
  // (REFERRAL_WITHDRAWN, capacity freed, waitlist drained), without waiting
  // for triage's decision on the other topic; records the referral as
  // erased, so that a decision arriving later creates nothing; destroys the
  // person's data key (and the referral's, for notes sealed under it),
  // blanks the referral's notes and clears the person id from its
  // assignments, so that no assignment links to the person any more.
  // Idempotent. Returns how many assignments it released.
  absl::StatusOr<int> EraseVictim(store::Tx& tx,
                                  const v1::EventEnvelope& envelope,
                                  const std::string& traceparent,
                                  absl::Time now);
  // After an erasure has committed: checkpoints the database so that the
  // shredded values leave the write-ahead log too (secure_delete is on).
  // Does nothing when no erasure happened since the last call.
  absl::Status CheckpointAfterErasure();

  // The advocate's moves on an assignment. Each is refused with
  // FAILED_PRECONDITION naming REFERRAL-ERASED once the referral's person
  // was erased (nothing is written, no note sealed).
  absl::StatusOr<v1::Assignment> Accept(const access::Principal& caller,
                                        const AssignmentId& assignment_id,
                                        const AdvocateId& advocate_id,
                                        absl::Time now,
                                        const std::string& traceparent);
  absl::StatusOr<v1::Assignment> Decline(const access::Principal& caller,
                                         const AssignmentId& assignment_id,
                                         const AdvocateId& advocate_id,
                                         const DeclineDetails& decline,
                                         absl::Time now,
                                         const std::string& traceparent);
  absl::StatusOr<v1::Assignment> RecordContact(
      const access::Principal& caller, const AssignmentId& assignment_id,
      const AdvocateId& advocate_id, const ContactAttempt& contact,
      absl::Time now, const std::string& traceparent);
  // A Victims' Code update given to the victim (deadline_watch.h).
  absl::StatusOr<v1::Assignment> RecordUpdate(const access::Principal& caller,
                                              const AssignmentId& assignment_id,
                                              const AdvocateId& advocate_id,
                                              v1::UpdateKind kind,
                                              std::optional<absl::Time> at,
                                              absl::Time now,
                                              const std::string& traceparent);
  absl::StatusOr<v1::Assignment> Close(const access::Principal& caller,
                                       const AssignmentId& assignment_id,
                                       const AdvocateId& advocate_id,
                                       const Closure& closure, absl::Time now,
                                       const std::string& traceparent);

  // The deadline watchdog (issue 13): each watched deadline of an
  // assignment (first contact, referral to support, the next update:
  // deadline_watch.h) raises DeadlineApproaching once it is within
  // `deadline_lead`, and DeadlineMissed once it has passed, each exactly
  // once (the marks are in the row, in the same transaction as the event).
  // First contact in time means neither. Returns when to look again.
  absl::StatusOr<absl::Time> WatchDeadlines(absl::Time now);

  // Expires every offer whose deadline has come (each exactly once) and
  // offers it again, in one transaction.
  absl::StatusOr<OfferExpiry> ExpireDueOffers(absl::Time now);
  // The periodic task's pass: ExpireDueOffers, returning when to run next
  // (the earliest pending deadline, InfiniteFuture when none, or now +
  // expiry_retry after a logged failure).
  absl::Time ExpireOffers(absl::Time now);

  absl::StatusOr<v1::GetReferralAssignmentsResponse> GetReferralAssignments(
      const access::Principal& caller, const ReferralId& referral_id);
  absl::StatusOr<v1::Assignment> GetAssignment(
      const AssignmentId& assignment_id);
  // The assignment's staff notes, opened (no RPC returns them yet; they are
  // for the provider). NOT_FOUND for an unknown assignment.
  absl::StatusOr<std::vector<StepNote>> GetNotes(
      const AssignmentId& assignment_id);
  // An advocate's offered, accepted and active cases; the victim's
  // safe-contact rules on each accepted or active one.
  absl::StatusOr<std::vector<v1::Assignment>> GetWorklist(
      const access::Principal& caller, const AdvocateId& advocate_id);
  // A provider's open service referrals, the same way (the provider itself,
  // or an operator).
  absl::StatusOr<std::vector<v1::Assignment>> GetProviderWorklist(
      const access::Principal& caller, const ProviderId& provider_id);
  // INVALID_ARGUMENT for a pathway with no advocate role.
  absl::StatusOr<v1::CheckCapacityResponse> CheckCapacity(
      v1::Pathway pathway, const std::string& locality_code,
      const std::string& language, absl::Time now);

 private:
  // The API view of `assignment`, with its history.
  // Reduced for `caller` when it is not oversight: no matching reason and
  // only its own advocates' steps.
  absl::StatusOr<v1::Assignment> View(
      store::Tx& tx, const AssignmentRecord& assignment,
      const access::Principal* caller = nullptr);
  // The advocate, when it is the calling provider's own (or the caller is
  // an operator); NOT_FOUND when unknown, PERMISSION_DENIED
  // (AUTHZ-OWN-PROVIDER) when another provider's.
  absl::StatusOr<v1::Advocate> LoadAdvocateFor(store::Tx& tx,
                                               const access::Principal& caller,
                                               const AdvocateId& advocate_id);
  // True when `advocate_id` is an advocate of the calling provider.
  absl::StatusOr<bool> IsOwnAdvocate(store::Tx& tx,
                                     const access::Principal& caller,
                                     const AdvocateId& advocate_id);
  // The assignment, when it is offered to or held by one of the calling
  // provider's advocates; NOT_FOUND when unknown; REFERRAL-ERASED when its
  // referral's person was erased.
  absl::StatusOr<AssignmentRecord> LoadAssignmentFor(
      store::Tx& tx, const access::Principal& caller,
      const AssignmentId& assignment_id);
  // NOT_FOUND naming the advocate when there is none.
  absl::StatusOr<v1::Advocate> LoadAdvocate(store::Tx& tx,
                                            const AdvocateId& advocate_id);
  absl::StatusOr<v1::ImportDirectoryResponse> ImportInTx(
      store::Tx& tx, const v1::Directory& directory, absl::Time now,
      const std::string& traceparent);
  absl::Status ExpireOne(store::Tx& tx, AssignmentRecord& offer,
                         absl::Time now);
  // Releases one open assignment (see RouteTriaged).
  absl::Status ReleaseOne(store::Tx& tx, AssignmentRecord& assignment,
                          const std::string& reason_code, absl::Time now,
                          const std::string& traceparent,
                          const v1::EventEnvelope& cause);
  // Rule IDSVA: one assignment covering a decision's DA and SV pathways,
  // when it has both, neither was routed before and an IDSVA serves the
  // locality; nullopt otherwise (two advocates, as before).
  absl::StatusOr<std::optional<AssignmentRecord>> IdsvaAssignment(
      store::Tx& tx, const ReferralId& referral_id,
      const std::vector<v1::Pathway>& pathways,
      const v1::ReferralTriaged& decision, absl::Time now);
  absl::StatusOr<std::vector<v1::Assignment>> WorklistViews(
      store::Tx& tx, const access::Principal& caller,
      const std::vector<AssignmentRecord>& rows);
  // Seals and keeps the decision's safe-contact rules for the referral.
  absl::Status KeepContactRules(store::Tx& tx, const ReferralId& referral_id,
                                const std::string& owner,
                                const v1::ContactRules& rules);
  // The referral's safe-contact rules, opened; nullopt when none were kept
  // (a referral routed before the rules were coded) or the person was
  // erased.
  absl::StatusOr<std::optional<v1::ContactRules>> ContactRulesOf(
      store::Tx& tx, const AssignmentRecord& assignment);
  // Appends `step` with a staff note sealed under the person's data key.
  absl::Status AddStepWithNote(store::Tx& tx,
                               const AssignmentRecord& assignment,
                               const v1::AssignmentStep& step,
                               const std::string& note);

  store::Database& db_;
  const std::shared_ptr<const crypto::PersonKeys> keys_;
  const Options options_;
  DirectoryStore directory_;
  AssignmentStore assignments_;
  Assigner assigner_;
  // Set by EraseVictim; cleared by CheckpointAfterErasure.
  std::atomic<bool> checkpoint_due_{false};
};

}  // namespace signpost::advocacy
