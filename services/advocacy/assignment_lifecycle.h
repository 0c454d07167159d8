// The assignment lifecycle, in plain code: the states an assignment passes
// through, the actions that move it, and who may take each action.
//
//   (new)      --route-->                 OFFERED | WAITLISTED
//   WAITLISTED --offer from waitlist-->   OFFERED
//   OFFERED    --accept-->                ACCEPTED
//   OFFERED    --decline | expire-->      OFFERED (the next advocate)
//                                         | WAITLISTED (nobody else)
//   ACCEPTED   --record contact-->        ACCEPTED (no answer, unsafe)
//                                         | ACTIVE (first real contact)
//   ACTIVE     --record contact-->        ACTIVE
//   ACCEPTED | ACTIVE --close-->          CLOSED
//   WAITLISTED | OFFERED | ACCEPTED | ACTIVE
//              --release-->               RELEASED
//
// CLOSED and RELEASED are final. A release ends an assignment before closure
// because the referral was withdrawn (consent withdrawn or cancelled) or a
// reassessment dropped its pathway.
//
// Routing, offering from the waitlist, expiry and release are the system's;
// accepting,
// declining, recording contact and closing belong to the advocate the
// assignment is with. A refused action is FAILED_PRECONDITION naming its
// rule: ASSIGNMENT-LIFECYCLE (wrong state), ASSIGNMENT-NOT-YOURS (another
// advocate), OFFER-EXPIRED (accepting after the deadline). Thread-safe (pure).
#pragma once

#include <compare>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/ids/ids.h"
#include "signpost/v1/advocacy.pb.h"

namespace signpost::advocacy {

inline constexpr char kLifecycleRule[] = "ASSIGNMENT-LIFECYCLE";
inline constexpr char kNotYoursRule[] = "ASSIGNMENT-NOT-YOURS";
inline constexpr char kOfferExpiredRule[] = "OFFER-EXPIRED";
// The referral's person was erased: nothing more is done or written on its
// assignments (they were all released by the erasure).
inline constexpr char kReferralErasedRule[] = "REFERRAL-ERASED";

// History steps (v1::AssignmentStep.step).
inline constexpr char kStepOffered[] = "OFFERED";
inline constexpr char kStepWaitlisted[] = "WAITLISTED";
inline constexpr char kStepAccepted[] = "ACCEPTED";
inline constexpr char kStepDeclined[] = "DECLINED";
inline constexpr char kStepExpired[] = "EXPIRED";
inline constexpr char kStepFirstContact[] = "FIRST_CONTACT";
inline constexpr char kStepContact[] = "CONTACT";
inline constexpr char kStepContactUnsafe[] = "CONTACT_UNSAFE";
inline constexpr char kStepContactNoAnswer[] = "CONTACT_NO_ANSWER";
inline constexpr char kStepClosed[] = "CLOSED";
inline constexpr char kStepReleased[] = "RELEASED";

// Why an assignment was released (the RELEASED step's detail and
// AssignmentReleased.reason_code).
inline constexpr char kReleaseWithdrawn[] = "REFERRAL_WITHDRAWN";
inline constexpr char kReleasePathwayRemoved[] = "PATHWAY_REMOVED";

// How a case ended, with the three outcome measures.
struct Closure {
  v1::ClosureReason reason = v1::CLOSURE_REASON_UNSPECIFIED;
  v1::OutcomeAnswer feels_safer = v1::OUTCOME_ANSWER_UNSPECIFIED;
  v1::OutcomeAnswer copes_better = v1::OUTCOME_ANSWER_UNSPECIFIED;
  v1::OutcomeAnswer better_informed = v1::OUTCOME_ANSWER_UNSPECIFIED;
};

// One assignment: a referral's advocate pathway and where it stands.
struct AssignmentRecord {
  AssignmentId assignment_id;
  ReferralId referral_id;
  v1::Pathway pathway = v1::PATHWAY_UNSPECIFIED;
  // UNSPECIFIED while new (routed, neither offered nor waitlisted yet).
  v1::AssignmentState state = v1::ASSIGNMENT_STATE_UNSPECIFIED;
  AdvocateId advocate_id;  // empty while waitlisted
  bool interpreter = false;
  // Why this advocate (and not the runners-up), or why nobody: ids, counts
  // and codes only.
  std::string reason;
  v1::Priority priority = v1::PRIORITY_UNSPECIFIED;
  // From the triage decision; used for matching.
  std::string victim_ref;
  std::string locality;
  std::string language;
  bool language_required = false;
  std::optional<absl::Time> first_contact_due;
  absl::Time created_at;
  std::optional<absl::Time> waitlisted_at;  // first time waitlisted
  // The latest offer's deadline (kept after acceptance: worklist order).
  std::optional<absl::Time> offer_expires_at;
  std::optional<absl::Time> first_contact_at;
  // When it ended: closed, or released.
  std::optional<absl::Time> closed_at;
  Closure closure;
  // A service referral: the service and the provider it went to (no
  // advocate). UNSPECIFIED for an advocate's assignment.
  v1::ServiceKind service = v1::SERVICE_KIND_UNSPECIFIED;
  ProviderId provider_id;
  // The referral's area (service referrals are matched by area).
  std::string area;
  // An IDSVA's assignment: the second pathway it covers (rule IDSVA).
  v1::Pathway also_pathway = v1::PATHWAY_UNSPECIFIED;
  // Specialisms preferred in matching (rule SPECIALISM).
  std::vector<std::string> preferred_specialisms;
  // The rule that set first_contact_due, and when the deadline watchdog
  // reported it approaching and missed (each once).
  std::string first_contact_rule;
  std::optional<absl::Time> deadline_warned_at;
  std::optional<absl::Time> deadline_missed_at;
  // When first offered (to an advocate or a provider) and first accepted.
  std::optional<absl::Time> offered_at;
  std::optional<absl::Time> accepted_at;
  // SLA-VCOP-REFERRAL: the referral to support is due by this time; met
  // by the first offer. The watchdog's marks, as for first contact.
  std::optional<absl::Time> referral_due;
  std::optional<absl::Time> referral_warned_at;
  std::optional<absl::Time> referral_missed_at;
  // SLA-UPDATES: the cadence in working days (0: not tracked), when the
  // next update is due (from first contact, then from each update), and
  // the watchdog's marks for that due time.
  int update_working_days = 0;
  std::optional<absl::Time> update_due;
  std::optional<absl::Time> update_warned_at;
  std::optional<absl::Time> update_missed_at;
  std::optional<absl::Time> last_update_at;
  int updates = 0;
  // The outcome baseline taken at first contact.
  v1::OutcomeBaseline baseline;
};

enum class AssignmentAction {
  kRoute,              // a new assignment is offered or waitlisted
  kOfferFromWaitlist,  // capacity freed: a waiting assignment is offered
  kAccept,
  kDecline,  // then offered to the next advocate, or waitlisted
  kExpire,   // an offer past its deadline; then as for a decline
  kRecordContact,
  kClose,
  kRelease,  // the referral withdrawn or the pathway dropped
};
inline constexpr AssignmentAction kAllActions[] = {
    AssignmentAction::kRoute,  AssignmentAction::kOfferFromWaitlist,
    AssignmentAction::kAccept, AssignmentAction::kDecline,
    AssignmentAction::kExpire, AssignmentAction::kRecordContact,
    AssignmentAction::kClose,  AssignmentAction::kRelease};

// Who asks for an action on an assignment.
enum class Actor {
  kSystem,            // routing, the waitlist, offer expiry, release
  kAssignedAdvocate,  // the advocate the assignment is with
  kOtherAdvocate,
};

struct Transition {
  v1::AssignmentState from;
  AssignmentAction action;
  v1::AssignmentState to;
  auto operator<=>(const Transition&) const = default;
};

// Every legal transition.
const std::set<Transition>& LegalTransitions();
// "accept", "record contact on", ... (for messages).
std::string ActionName(AssignmentAction action);
std::string StateName(v1::AssignmentState state);
bool MayAct(AssignmentAction action, Actor actor);
// kAssignedAdvocate when `advocate` holds the assignment; for a service
// referral, when `advocate` is empty (its provider acts, checked by the
// application).
Actor ActorFor(const AssignmentRecord& assignment, const AdvocateId& advocate);

// ASSIGNMENT-LIFECYCLE unless `action` may start from `from`.
absl::Status CheckCanStart(AssignmentAction action, v1::AssignmentState from);
// ASSIGNMENT-LIFECYCLE unless from --action--> to is legal.
absl::Status CheckTransition(v1::AssignmentState from, AssignmentAction action,
                             v1::AssignmentState to);
// An advocate's action: the state first (ASSIGNMENT-LIFECYCLE), then whose
// the assignment is (ASSIGNMENT-NOT-YOURS).
absl::Status CheckAdvocateAction(AssignmentAction action,
                                 const AssignmentRecord& assignment,
                                 const AdvocateId& advocate);

// REFERRAL-ERASED when the assignment's referral was erased (`erased`): no
// advocate's move, and no staff note, for it any more.
absl::Status CheckReferralNotErased(const AssignmentRecord& assignment,
                                    bool erased);

// CLOSED or RELEASED: no action starts from it.
bool IsFinal(v1::AssignmentState state);
// WAITLISTED, OFFERED, ACCEPTED or ACTIVE: a release may end it.
bool IsOpen(v1::AssignmentState state);
// OFFERED, ACCEPTED or ACTIVE: the advocate holds one place of capacity.
bool HoldsCapacity(v1::AssignmentState state);

// True when an offer's deadline has come (the system expires it).
bool OfferDue(const AssignmentRecord& assignment, absl::Time now);

// The system's moves (`action`: kRoute, kOfferFromWaitlist, kDecline or
// kExpire). ASSIGNMENT-LIFECYCLE when the transition is not legal.
absl::Status Offer(AssignmentRecord& assignment, AssignmentAction action,
                   const AdvocateId& advocate, bool interpreter,
                   std::string reason, absl::Time expires_at);
// A service referral offered to a provider (no advocate).
absl::Status OfferToProvider(AssignmentRecord& assignment,
                             AssignmentAction action,
                             const ProviderId& provider, std::string reason,
                             absl::Time expires_at);
// Waiting: no advocate (nor, for a service referral, provider) yet.
absl::Status Waitlist(AssignmentRecord& assignment, AssignmentAction action,
                      std::string reason, absl::Time now);

// The system ends an open assignment (ASSIGNMENT-LIFECYCLE otherwise). The
// advocate it was with is kept (the history and the provider's view name
// it); the caller frees that advocate's place when HoldsCapacity was true.
absl::Status Release(AssignmentRecord& assignment, absl::Time now);

// The advocate's moves. Accept refuses an offer past its deadline
// (OFFER-EXPIRED). Decline only checks: the system then re-offers.
absl::Status Accept(AssignmentRecord& assignment, const AdvocateId& advocate,
                    absl::Time now);
absl::Status CheckDecline(const AssignmentRecord& assignment,
                          const AdvocateId& advocate);
// Records a contact attempt made at `at`; returns its history step. Only a
// successful contact stops the first-contact clock (state ACTIVE).
absl::StatusOr<std::string> RecordContact(AssignmentRecord& assignment,
                                          const AdvocateId& advocate,
                                          v1::ContactOutcome outcome,
                                          absl::Time at);
absl::Status Close(AssignmentRecord& assignment, const AdvocateId& advocate,
                   const Closure& closure, absl::Time now);

// Contact attempts in a history (real, unsafe or unanswered).
int ContactAttempts(const std::vector<v1::AssignmentStep>& history);
// The API view of an assignment with its history.
v1::Assignment ToAssignmentView(const AssignmentRecord& assignment,
                                std::vector<v1::AssignmentStep> history);

}  // namespace signpost::advocacy
