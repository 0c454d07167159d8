// Intake's application layer: one use case per method, each in one
// transaction (load, decide, persist, emit). Submitting writes the referral
// and its ReferralReceived event together (outbox); the caller wakes the
// outbox relay after a submission that was not a duplicate. Thread-safe (the
// Database serialises transactions).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/access/authz.h"
#include "common/crypto/person_keys.h"
#include "common/ids/ids.h"
#include "common/store/database.h"
#include "services/intake/intake_store.h"
#include "services/intake/notice_store.h"
#include "services/intake/referral_lifecycle.h"
#include "services/intake/stall_store.h"
#include "services/intake/victim_notices.h"
#include "signpost/v1/events.pb.h"
#include "signpost/v1/intake.pb.h"
#include "signpost/v1/policy.pb.h"
#include "signpost/v1/referral.pb.h"

namespace signpost::intake {

struct SubmitOutcome {
  ReferralId referral_id;
  bool duplicate = false;
  // Millisecond precision: exactly what GetReferral reports later.
  absl::Time received_at;
  // The ReferralReceived (or ReferralLinked) event id (empty for a
  // duplicate).
  EventId event_id;
  // Set when the referral joined an earlier one of the same person and
  // incident from another agency.
  ReferralId linked_to;
};

// A referral as one caller may see it.
struct ReferralView {
  ReceivedReferral referral;  // reduced to field_class (disclosure.h)
  v1::FieldClass field_class = v1::FIELD_CLASS_NONE;
  // True when the read was written to the access audit (the caller then
  // wakes the outbox relay).
  bool audited = false;
  v1::ReferralLifecycle lifecycle = v1::REFERRAL_LIFECYCLE_UNSPECIFIED;
  ReferralId linked_to;
  std::optional<absl::Time> erased_at;  // then `referral` holds ids only
  // What the victim was told: for a caller who sees the whole referral,
  // and for operators.
  std::vector<v1::VictimNotice> victim_notices;
};

// A referral's consent after a change.
struct ConsentOutcome {
  v1::Consent consent;
  v1::ReferralLifecycle lifecycle = v1::REFERRAL_LIFECYCLE_UNSPECIFIED;
};

struct ErasureOutcome {
  std::string person_id;
  int referrals_erased = 0;
  absl::Time erased_at;
};

// Intake's settings beyond its stores.
struct IntakeOptions {
  // The blind-index matching key (32 bytes), apart from the KEKs.
  std::string matching_key;
  // Incidents this close, without crime references to tell them apart,
  // are one incident for linking.
  absl::Duration link_window = absl::Hours(72);
  v1::RetentionPolicy retention;
  // Victim notices (victim_notices.h): the zone of the safe windows, the
  // channels with a gateway, and the retries of a refused send.
  absl::TimeZone zone = absl::UTCTimeZone();
  std::set<v1::ContactChannel> notice_gateways;
  int notice_max_attempts = 8;
  absl::Duration notice_backoff_base = absl::Seconds(30);
  absl::Duration notice_backoff_cap = absl::Hours(1);
  // Stalled referrals (stalls.h): stuck this long is stalled, and a stall
  // is reported again at this interval while it lasts.
  absl::Duration stall_after = absl::Minutes(30);
  absl::Duration stall_interval = absl::Hours(1);
};

// A victim notice to send now: personal data (`to`), in memory only, never
// logged.
struct OutgoingNotice {
  ReferralId referral_id;
  NoticeKind kind = NoticeKind::kReferralReceived;
  v1::ContactChannel channel = v1::CONTACT_CHANNEL_UNSPECIFIED;
  // The phone number, email address or safe postal address.
  std::string to;
  std::string text;
  // Stable per referral and kind: the gateway's idempotency key.
  std::string message_id;
  // The victim's rules, checked again just before the send.
  v1::ContactRules rules;
};

class IntakeApp {
 public:
  // `keys` seals every referral with its person's data key
  // (common/crypto/person_keys.h).
  // `options.matching_key` finds people again (matching.h).
  IntakeApp(store::Database& db, std::shared_ptr<const crypto::PersonKeys> keys,
            IntakeOptions options)
      : db_(db), keys_(std::move(keys)), options_(std::move(options)) {}

  // Stores a validated referral from `caller` received at `now` (truncated
  // to milliseconds, the one value stored, emitted and returned) and emits
  // ReferralReceived. The referral is recorded as the caller's:
  // referrer_org, when given, must name the caller (PERMISSION_DENIED,
  // AUTHZ-OWN-AGENCY) and is stored as its agency id. Idempotency keys are
  // scoped to the caller: a repeated key with the same referral returns the
  // first referral (duplicate=true, nothing written); with a different
  // referral it is refused (FAILED_PRECONDITION, IDEMPOTENCY-KEY-REUSED).
  absl::StatusOr<SubmitOutcome> SubmitReferral(
      const access::Principal& caller, const std::string& idempotency_key,
      v1::Referral referral, absl::Time now, absl::string_view traceparent);

  // The referral as `caller` may see it (disclosure.h). A read that
  // releases personal data (the whole referral or the MARAC set) is written
  // to the access audit in the same transaction; a break-glass read also
  // keeps its reason. Unknown and not-permitted ids are refused alike.
  absl::StatusOr<ReferralView> GetReferral(const access::Principal& caller,
                                           const ReferralId& referral_id,
                                           absl::string_view break_glass_reason,
                                           absl::Time now,
                                           absl::string_view traceparent);

  // Records consent given or withdrawn (the referral as a whole, one
  // pathway, or with `rj` one RJ party) and emits ConsentUpdated; the
  // referral's consent withdrawn also stops it (ReferralWithdrawn). The
  // referrer or a provider holding an accepted assignment (DecideChange).
  // INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED, or FAILED_PRECONDITION
  // naming REFERRAL-LINKED or REFERRAL-LIFECYCLE; nothing written then.
  absl::StatusOr<ConsentOutcome> ChangeConsent(const access::Principal& caller,
                                               const ReferralId& referral_id,
                                               const ConsentChange& change,
                                               bool rj, absl::Time now,
                                               absl::string_view traceparent);
  // The referrer cancels with a coded reason: ReferralWithdrawn.
  absl::StatusOr<v1::ReferralLifecycle> CancelReferral(
      const access::Principal& caller, const ReferralId& referral_id,
      v1::WithdrawalReason reason, absl::Time now,
      absl::string_view traceparent);
  // Erases the person `referral_id` is about, with all their referrals:
  // sealed referrals deleted, data key destroyed, blind-index entries
  // deleted, VictimErased per referral. A person already erased gets the
  // first erasure back. The WAL is checkpointed after the commit.
  absl::StatusOr<ErasureOutcome> EraseVictim(const access::Principal& caller,
                                             const ReferralId& referral_id,
                                             v1::ErasureGround ground,
                                             absl::string_view reason,
                                             absl::Time now,
                                             absl::string_view traceparent);
  // Erases everyone whose retention timer is due at `now` (at most `limit`
  // people per call). Returns how many were erased.
  absl::StatusOr<int> EraseDue(absl::Time now, int limit = 50);

  // Triage's and advocacy's events, in the consumer's transaction: a
  // decision says whether the referral goes to MARAC; offers and accepted
  // assignments give a provider its hold on a referral, and a decline, an
  // expiry or a closure ends it. Other events are ignored.
  absl::Status ApplyRoutingEvent(store::Tx& tx, const v1::EventEnvelope& event);

  // Victim notices. The decisions and advocacy events above queue them (once
  // per referral and kind); this plans each one due at `now` against the
  // victim's safe-contact rules (victim_notices.h): suppressed with the
  // reason, held until the next safe time, or returned to be sent now.
  // A notice for a referral erased, withdrawn or cancelled is suppressed.
  absl::StatusOr<std::vector<OutgoingNotice>> NextNotices(absl::Time now,
                                                          int limit = 20);
  // The gateway accepted it.
  absl::Status NoticeSent(const OutgoingNotice& notice, absl::Time now);
  // The gateway refused it or could not be reached (`error`: a code, no
  // personal data): retried with backoff, FAILED at the attempt limit.
  absl::Status NoticeFailed(const OutgoingNotice& notice,
                            const std::string& error, absl::Time now);
  // When the next notice is due (InfiniteFuture when none).
  absl::StatusOr<absl::Time> NextNoticeDue();
  // The referral's notices (for GetReferral).
  absl::StatusOr<std::vector<NoticeRow>> NoticesOf(
      const ReferralId& referral_id);

  absl::StatusOr<int64_t> CountReferrals();

  // Start-up check: the matching key is the one this database's blind
  // indexes were made with (recorded on the first start).
  // FAILED_PRECONDITION otherwise: with another key nobody would be found
  // again, silently.
  absl::Status CheckMatchingKey();

  // The stall watchdog (stalls.h): raises ReferralStalled for each stuck
  // referral whose report is due; the marks are columns, so a restart
  // neither loses nor repeats one. How many were reported.
  absl::StatusOr<int> WatchStalls(absl::Time now);
  // Referrals stuck now, of `area_code` (empty: every area; a
  // commissioner must name one of its own), oldest first.
  absl::StatusOr<paging::Page<v1::StalledReferral>> ListStalled(
      const access::Principal& caller, const std::string& area_code,
      absl::Time now, const paging::PageRequest& page);

 private:
  // A decision or an offer moves the referral's progress on (stalls.h).
  absl::Status TrackProgress(store::Tx& tx, const v1::EventEnvelope& event);
  // Erases one person inside `tx` (EraseVictim, EraseDue).
  absl::StatusOr<ErasureOutcome> ErasePerson(
      store::Tx& tx, const ReferralState& state, v1::ErasureGround ground,
      const std::string& erased_by, absl::string_view reason, absl::Time now,
      absl::string_view traceparent);
  // INVALID_ARGUMENT naming `reason` when it names the person of any of
  // their referrals (matching.h MentionsPerson).
  absl::Status CheckReasonNamesNobody(store::Tx& tx, const ReferralState& state,
                                      absl::string_view reason);
  // The referral stopped or its last assignment closed: its retention
  // clock may start.
  absl::Status Close(store::Tx& tx, const ReferralId& referral_id,
                     absl::string_view person_id, absl::Time at);
  static absl::Time EventTime(const v1::EventEnvelope& event);
  // Closes an ACTIVE referral no provider holds (Close), at `at`.
  absl::Status CloseIfUnheld(store::Tx& tx, const ReferralId& referral_id,
                             absl::Time at);
  // An assignment is offered or waiting again: a closed referral (while
  // active) is open again, and the person's clock stops.
  absl::Status Reopen(store::Tx& tx, const ReferralId& referral_id);
  // Sets or clears the person's retention timer from their referrals.
  absl::Status ScheduleRetention(store::Tx& tx, absl::string_view person_id);
  // The checkpoint after an erasure (logged when it fails: the erasure
  // itself has committed).
  void CheckpointAfterErasure();
  // Queues a notice of `kind` (once per referral).
  absl::Status QueueNotice(store::Tx& tx, const ReferralId& referral_id,
                           NoticeKind kind, absl::Time at);
  // `stored` opened with its person's data key.
  absl::StatusOr<ReceivedReferral> OpenReferral(store::Tx& tx,
                                                StoredReferral stored);

  store::Database& db_;
  std::shared_ptr<const crypto::PersonKeys> keys_;
  const IntakeOptions options_;
  IntakeStore store_;
  NoticeStore notices_;
  StallStore stalls_;
};

}  // namespace signpost::intake
