#include "services/advocacy/assignment_lifecycle.h"

#include <set>
#include <string>

#include "common/errors/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace signpost::advocacy {
namespace {

using A = AssignmentAction;
using S = v1::AssignmentState;

constexpr S N = v1::ASSIGNMENT_STATE_UNSPECIFIED,
            W = v1::ASSIGNMENT_STATE_WAITLISTED,
            O = v1::ASSIGNMENT_STATE_OFFERED,
            AC = v1::ASSIGNMENT_STATE_ACCEPTED,
            AV = v1::ASSIGNMENT_STATE_ACTIVE, C = v1::ASSIGNMENT_STATE_CLOSED,
            R = v1::ASSIGNMENT_STATE_RELEASED;
constexpr S kStates[] = {N, W, O, AC, AV, C, R};

const absl::Time kT0 = absl::FromUnixSeconds(1717405200);

// The legal transitions, written out independently of the implementation.
const std::set<Transition>& Expected() {
  static const auto* t = new std::set<Transition>({
      {N, A::kRoute, O},
      {N, A::kRoute, W},
      {W, A::kOfferFromWaitlist, O},
      {O, A::kAccept, AC},
      {O, A::kDecline, O},
      {O, A::kDecline, W},
      {O, A::kExpire, O},
      {O, A::kExpire, W},
      {AC, A::kRecordContact, AC},
      {AC, A::kRecordContact, AV},
      {AV, A::kRecordContact, AV},
      {AC, A::kClose, C},
      {AV, A::kClose, C},
      {W, A::kRelease, R},
      {O, A::kRelease, R},
      {AC, A::kRelease, R},
      {AV, A::kRelease, R},
  });
  return *t;
}

std::string Rule(const absl::Status& s) {
  if (s.ok()) return "OK";
  std::optional<errors::RuleViolationDetail> rule = errors::RuleViolationOf(s);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  return rule ? rule->rule_id : std::string(s.message());
}

std::string Describe(S from, A action, S to) {
  return StateName(from) + " --" + ActionName(action) + "--> " + StateName(to);
}

AssignmentRecord With(S state, const std::string& advocate = "ann") {
  AssignmentRecord r;
  r.assignment_id = AssignmentId("as-1");
  r.referral_id = ReferralId("r1");
  r.pathway = v1::PATHWAY_IDVA;
  r.state = state;
  r.advocate_id = AdvocateId(advocate);
  r.created_at = kT0;
  r.offer_expires_at = kT0 + absl::Hours(24);
  return r;
}

TEST(AssignmentLifecycleTest, EveryLegalAndIllegalTransition) {
  EXPECT_EQ(LegalTransitions(), Expected());
  for (S from : kStates) {
    for (A action : kAllActions) {
      for (S to : kStates) {
        absl::Status s = CheckTransition(from, action, to);
        const bool legal = Expected().count({from, action, to}) == 1;
        EXPECT_EQ(s.ok(), legal) << Describe(from, action, to);
        if (!legal) {
          EXPECT_EQ(Rule(s), kLifecycleRule) << Describe(from, action, to);
        }
      }
    }
  }
}

TEST(AssignmentLifecycleTest, WhoMayTakeEachAction) {
  struct Row {
    A action;
    bool system, assigned, other;
  };
  const Row table[] = {
      {A::kRoute, true, false, false},
      {A::kOfferFromWaitlist, true, false, false},
      {A::kExpire, true, false, false},
      {A::kAccept, false, true, false},
      {A::kDecline, false, true, false},
      {A::kRecordContact, false, true, false},
      {A::kClose, false, true, false},
      {A::kRelease, true, false, false},
  };
  ASSERT_EQ(std::size(table), std::size(kAllActions));
  for (const Row& row : table) {
    EXPECT_EQ(MayAct(row.action, Actor::kSystem), row.system)
        << ActionName(row.action);
    EXPECT_EQ(MayAct(row.action, Actor::kAssignedAdvocate), row.assigned)
        << ActionName(row.action);
    EXPECT_EQ(MayAct(row.action, Actor::kOtherAdvocate), row.other)
        << ActionName(row.action);
  }
  EXPECT_EQ(ActorFor(With(O, "ann"), AdvocateId("ann")),
            Actor::kAssignedAdvocate);
  EXPECT_EQ(ActorFor(With(O, "ann"), AdvocateId("bal")), Actor::kOtherAdvocate);
  // Nobody holds a waitlisted assignment, not even an empty id.
  EXPECT_EQ(ActorFor(With(W, ""), AdvocateId()), Actor::kOtherAdvocate);
}

// Every advocate action from every state, by the assigned advocate and by
// another: the state is checked first, then whose the assignment is.
TEST(AssignmentLifecycleTest, AdvocateActionsFromEveryStateByEveryAdvocate) {
  const std::set<std::pair<A, S>> starts = {
      {A::kAccept, O},         {A::kDecline, O}, {A::kRecordContact, AC},
      {A::kRecordContact, AV}, {A::kClose, AC},  {A::kClose, AV}};
  for (A action : {A::kAccept, A::kDecline, A::kRecordContact, A::kClose}) {
    for (S from : kStates) {
      for (const char* who : {"ann", "bal"}) {
        absl::Status s =
            CheckAdvocateAction(action, With(from, "ann"), AdvocateId(who));
        std::string expected =
            starts.count({action, from}) == 0
                ? kLifecycleRule
                : (std::string(who) == "ann" ? "OK" : kNotYoursRule);
        EXPECT_EQ(Rule(s), expected) << ActionName(action) << " from "
                                     << StateName(from) << " by " << who;
      }
    }
  }
}

// CLOSED and RELEASED are final: no action of anyone starts from them.
TEST(AssignmentLifecycleTest, ClosedAndReleasedAreFinal) {
  for (S from : kStates) {
    bool any = false;
    for (A action : kAllActions) {
      for (S to : kStates) any |= CheckTransition(from, action, to).ok();
    }
    EXPECT_EQ(IsFinal(from), !any) << StateName(from);
    EXPECT_EQ(IsOpen(from), from == W || from == O || from == AC || from == AV)
        << StateName(from);
    EXPECT_EQ(HoldsCapacity(from), from == O || from == AC || from == AV)
        << StateName(from);
  }
  EXPECT_TRUE(IsFinal(C));
  EXPECT_TRUE(IsFinal(R));
}

TEST(AssignmentLifecycleTest, ReleaseEndsAnOpenAssignmentKeepingItsAdvocate) {
  struct Row {
    S from;
    const char* rule;
  };
  const Row table[] = {{N, kLifecycleRule}, {W, "OK"},  {O, "OK"},
                       {AC, "OK"},          {AV, "OK"}, {C, kLifecycleRule},
                       {R, kLifecycleRule}};
  ASSERT_EQ(std::size(table), std::size(kStates));
  for (const Row& row : table) {
    AssignmentRecord a = With(row.from, row.from == W ? "" : "ann");
    absl::Status s = Release(a, kT0 + absl::Hours(3));
    EXPECT_EQ(Rule(s), row.rule) << StateName(row.from);
    if (s.ok()) {
      EXPECT_EQ(a.state, R);
      EXPECT_EQ(a.closed_at, kT0 + absl::Hours(3));
      EXPECT_EQ(a.advocate_id, AdvocateId(row.from == W ? "" : "ann"));
    } else {
      EXPECT_EQ(a.state, row.from);
      EXPECT_FALSE(a.closed_at.has_value());
    }
  }
  // The advocate it was with can do nothing more with it.
  AssignmentRecord released = With(AC);
  ASSERT_TRUE(Release(released, kT0).ok());
  for (A action : {A::kAccept, A::kDecline, A::kRecordContact, A::kClose}) {
    absl::Status s = CheckAdvocateAction(action, released, AdvocateId("ann"));
    EXPECT_EQ(Rule(s), kLifecycleRule) << ActionName(action);
    EXPECT_NE(s.message().find("RELEASED"), std::string::npos) << s;
  }
}

TEST(AssignmentLifecycleTest, SystemActionsAreNeverAnAdvocates) {
  for (A action : {A::kRoute, A::kOfferFromWaitlist, A::kExpire, A::kRelease}) {
    absl::Status s =
        CheckAdvocateAction(action, With(O, "ann"), AdvocateId("ann"));
    EXPECT_TRUE(errors::IsInvariantViolation(s)) << ActionName(action) << s;
  }
}

TEST(AssignmentLifecycleTest, RefusalNamesTheStateAndWhatItMustBe) {
  absl::Status s = CheckAdvocateAction(A::kClose, With(C), AdvocateId("ann"));
  EXPECT_NE(s.message().find("cannot close an assignment that is CLOSED; it "
                             "must be ACCEPTED or ACTIVE"),
            std::string::npos)
      << s;
  std::optional<errors::RuleViolationDetail> rule = errors::RuleViolationOf(s);
  ASSERT_TRUE(rule);
  EXPECT_EQ(rule->subject, "state");
  s = CheckAdvocateAction(A::kAccept, With(O), AdvocateId("bal"));
  rule = errors::RuleViolationOf(s);
  ASSERT_TRUE(rule);
  EXPECT_EQ(rule->subject, "advocate_id");
  EXPECT_NE(s.message().find("as-1 is with another advocate"),
            std::string::npos);
}

TEST(AssignmentLifecycleTest, AcceptUpToTheDeadlineThenOfferExpired) {
  AssignmentRecord a = With(O);
  EXPECT_EQ(Rule(Accept(a, AdvocateId("ann"),
                        kT0 + absl::Hours(24) + absl::Milliseconds(1))),
            kOfferExpiredRule);
  EXPECT_EQ(a.state, O);
  // Whose it is comes before the deadline.
  EXPECT_EQ(Rule(Accept(a, AdvocateId("bal"), kT0 + absl::Hours(25))),
            kNotYoursRule);
  EXPECT_EQ(Rule(Accept(a, AdvocateId("ann"), kT0 + absl::Hours(24))), "OK");
  EXPECT_EQ(a.state, AC);
  // The deadline is kept (it orders the worklist).
  EXPECT_EQ(a.offer_expires_at, kT0 + absl::Hours(24));
}

TEST(AssignmentLifecycleTest, OfferIsDueAtItsDeadline) {
  EXPECT_FALSE(
      OfferDue(With(O), kT0 + absl::Hours(24) - absl::Milliseconds(1)));
  EXPECT_TRUE(OfferDue(With(O), kT0 + absl::Hours(24)));
  EXPECT_FALSE(OfferDue(With(AC), kT0 + absl::Hours(48)));
}

TEST(AssignmentLifecycleTest, OfferAndWaitlistFollowTheTable) {
  AssignmentRecord a = With(N, "");
  EXPECT_EQ(Rule(Offer(a, A::kAccept, AdvocateId("ann"), false, "r", kT0)),
            kLifecycleRule);
  ASSERT_TRUE(Waitlist(a, A::kRoute, "nobody", kT0).ok());
  EXPECT_EQ(a.state, W);
  EXPECT_EQ(a.waitlisted_at, kT0);
  EXPECT_FALSE(a.offer_expires_at);
  // Still waiting after a waitlist pass is no transition.
  EXPECT_EQ(Rule(Waitlist(a, A::kOfferFromWaitlist, "x", kT0)), kLifecycleRule);
  ASSERT_TRUE(Offer(a, A::kOfferFromWaitlist, AdvocateId("ann"), true,
                    "ann: interpreter", kT0 + absl::Hours(24))
                  .ok());
  EXPECT_EQ(a.state, O);
  EXPECT_EQ(a.advocate_id, AdvocateId("ann"));
  EXPECT_TRUE(a.interpreter);
  EXPECT_EQ(a.offer_expires_at, kT0 + absl::Hours(24));
  // Declined and nobody else: waitlisted again, keeping the first wait.
  ASSERT_TRUE(Waitlist(a, A::kDecline, "nobody", kT0 + absl::Hours(1)).ok());
  EXPECT_EQ(a.waitlisted_at, kT0);
  EXPECT_TRUE(a.advocate_id.empty());
  EXPECT_FALSE(a.interpreter);
}

TEST(AssignmentLifecycleTest, OnlyRealContactStopsTheClock) {
  struct Row {
    S from;
    v1::ContactOutcome outcome;
    const char* step;
    S to;
  };
  const Row table[] = {
      {AC, v1::CONTACT_OUTCOME_UNSAFE, kStepContactUnsafe, AC},
      {AC, v1::CONTACT_OUTCOME_NO_ANSWER, kStepContactNoAnswer, AC},
      {AC, v1::CONTACT_OUTCOME_SUCCESSFUL, kStepFirstContact, AV},
      {AV, v1::CONTACT_OUTCOME_SUCCESSFUL, kStepContact, AV},
      {AV, v1::CONTACT_OUTCOME_UNSAFE, kStepContactUnsafe, AV},
  };
  for (const Row& row : table) {
    AssignmentRecord a = With(row.from);
    if (row.from == AV) a.first_contact_at = kT0;
    absl::StatusOr<std::string> step =
        RecordContact(a, AdvocateId("ann"), row.outcome, kT0 + absl::Hours(2));
    ASSERT_TRUE(step.ok()) << step.status();
    EXPECT_EQ(*step, row.step);
    EXPECT_EQ(a.state, row.to) << row.step;
    EXPECT_TRUE(CheckTransition(row.from, A::kRecordContact, row.to).ok());
    EXPECT_EQ(a.first_contact_at.has_value(), row.to == AV);
    if (row.from == AV) {
      EXPECT_EQ(a.first_contact_at, kT0);
    }
  }
}

TEST(AssignmentLifecycleTest, CloseRecordsTheOutcomeMeasures) {
  AssignmentRecord a = With(AV);
  Closure closure{v1::CLOSURE_REASON_SUPPORT_COMPLETED, v1::OUTCOME_ANSWER_YES,
                  v1::OUTCOME_ANSWER_NO, v1::OUTCOME_ANSWER_NOT_ASKED};
  ASSERT_TRUE(Close(a, AdvocateId("ann"), closure, kT0 + absl::Hours(5)).ok());
  EXPECT_EQ(a.state, C);
  EXPECT_EQ(a.closed_at, kT0 + absl::Hours(5));
  EXPECT_EQ(a.closure.copes_better, v1::OUTCOME_ANSWER_NO);
  EXPECT_EQ(Rule(Close(a, AdvocateId("ann"), closure, kT0)), kLifecycleRule);
}

TEST(AssignmentLifecycleTest, ViewCountsAttemptsAndShowsOnlyAPendingDeadline) {
  std::vector<v1::AssignmentStep> history;
  for (const char* step : {kStepOffered, kStepAccepted, kStepContactUnsafe,
                           kStepContactNoAnswer, kStepFirstContact}) {
    history.emplace_back().set_step(step);
  }
  EXPECT_EQ(ContactAttempts(history), 3);
  v1::Assignment view = ToAssignmentView(With(AV), history);
  EXPECT_EQ(view.contact_attempts(), 3);
  EXPECT_EQ(view.unsafe_attempts(), 1);
  EXPECT_EQ(view.history_size(), 5);
  EXPECT_FALSE(view.has_offer_expires_at());
  EXPECT_TRUE(ToAssignmentView(With(O), {}).has_offer_expires_at());
}

}  // namespace
}  // namespace signpost::advocacy
