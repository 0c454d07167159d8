// MARAC meetings end to end through the application layer (MaracApp with
// TriageApp placing its decisions) on a real SQLite file, and the gRPC
// adapter's refusals over an in-process server (mutual TLS, each call as a
// registered agency).
#include "services/triage/marac_app.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/access/authz.h"
#include "common/events/envelope.h"
#include "common/ids/ids.h"
#include "common/store/outbox.h"
#include "common/time/timestamps.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/intake/validation.h"
#include "services/triage/marac_service.h"
#include "services/triage/triage_app.h"
#include "services/triage/triage_store.h"
#include "signpost/v1/marac.grpc.pb.h"
#include "tests/services/triage/policy_fixture.h"
#include "tests/support/test_support.h"

namespace signpost::triage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kMarac[] = "marac-coordinator-wmp";
constexpr char kOtherMarac[] = "marac-coordinator-wyp";
constexpr char kReferrer[] = "police-wmp";
constexpr char kProvider[] = "wm-idva-service";
constexpr char kOperator[] = "signpost-operator";

class MaracAppTest : public ::testing::Test {
 protected:
  MaracAppTest()
      : db_(OpenDb(dir_)),
        triage_(*db_, SharedDefaultPolicy(), testing::TestPersonKeys()),
        marac_(*db_, *testing::TestRegistry(), [this] { return now_; }) {}

  static std::unique_ptr<store::Database> OpenDb(const testing::TempDir& dir) {
    auto db =
        store::Database::Open(dir.File("triage.db"), TriageStore::Migrations());
    EXPECT_TRUE(db.ok()) << db.status();
    return db.ok() ? std::move(*db) : nullptr;
  }

  static access::Principal As(const std::string& agency) {
    return testing::PrincipalOf(agency);
  }

  // Facts from example T01 with `dash_yes` DASH answers yes, no
  // professional-judgement flag, and the victim `person` (linked, so a
  // second MARAC referral within 12 months is a repeat).
  static v1::ReferralFacts Facts(int dash_yes, const std::string& person) {
    v1::ReferralFacts facts = intake::ExtractFacts(
        testing::LoadExample("t01_strangulation_punjabi").referral());
    v1::Assessment* a = facts.mutable_assessment();
    a->clear_pj_flags();
    for (int i = 0; i < a->dash_answers_size(); ++i) {
      a->set_dash_answers(i, i < dash_yes);
    }
    facts.set_person_id(person);
    return facts;
  }

  // Triages `facts` as the event consumer would; returns the referral id.
  std::string Received(const v1::ReferralFacts& facts) {
    std::string id = NewUuid();
    v1::EventEnvelope e = events::NewEnvelope("intake", id);
    *e.mutable_referral_received()->mutable_facts() = facts;
    events::StampType(&e);
    absl::Status status = db_->Write([&](store::Tx& tx) -> absl::Status {
      return triage_.TriageReceived(tx, e, NewTraceparent()).status();
    });
    EXPECT_TRUE(status.ok()) << status;
    return id;
  }
  std::string Decided(int dash_yes, const std::string& person = "") {
    return Received(Facts(dash_yes, person));
  }

  // Re-decides `referral_id` with `dash_yes` DASH answers yes.
  void Reassess(const std::string& referral_id, int dash_yes) {
    Reassessment r;
    r.referral_id = ReferralId(referral_id);
    r.assessment = Facts(dash_yes, "").assessment();
    r.practitioner_id = "pc-1";
    auto v = triage_.Reassess(As(kReferrer), r, NewTraceparent());
    ASSERT_TRUE(v.ok()) << v.status();
  }

  v1::MaracMeeting Schedule(absl::Duration meets_in, absl::Duration closes_in,
                            int capacity) {
    v1::ScheduleMeetingRequest r;
    r.set_area_code("WMP");
    *r.mutable_meeting_at() = timeutil::ToTimestamp(now_ + meets_in);
    *r.mutable_agenda_closes_at() = timeutil::ToTimestamp(now_ + closes_in);
    r.set_capacity(capacity);
    auto m = marac_.ScheduleMeeting(As(kMarac), r, NewTraceparent());
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? *m : v1::MaracMeeting();
  }
  v1::MaracMeeting Get(const std::string& meeting_id) {
    auto m = marac_.GetMeeting(As(kMarac), meeting_id);
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? *m : v1::MaracMeeting();
  }
  absl::StatusOr<v1::MaracCase> Hear(const std::string& meeting_id,
                                     const std::string& referral_id) {
    v1::MarkHeardRequest r;
    r.set_meeting_id(meeting_id);
    r.set_referral_id(referral_id);
    return marac_.MarkHeard(As(kMarac), r, NewTraceparent());
  }
  absl::StatusOr<v1::MaracAction> Allocate(
      const std::string& meeting_id, const std::string& referral_id,
      const std::string& agency,
      v1::MaracActionKind kind = v1::MARAC_ACTION_KIND_HOUSING) {
    v1::AllocateActionRequest r;
    r.set_meeting_id(meeting_id);
    r.set_referral_id(referral_id);
    r.set_agency_id(agency);
    r.set_kind(kind);
    *r.mutable_due() = timeutil::ToTimestamp(now_ + absl::Hours(24 * 14));
    return marac_.AllocateAction(As(kMarac), r, NewTraceparent());
  }
  absl::StatusOr<v1::MaracMeeting> Close(const std::string& meeting_id) {
    v1::CloseMeetingRequest r;
    r.set_meeting_id(meeting_id);
    return marac_.CloseMeeting(As(kMarac), r, NewTraceparent());
  }

  static std::vector<std::string> CaseIds(const v1::MaracMeeting& m) {
    std::vector<std::string> ids;
    for (const v1::MaracCase& c : m.cases()) ids.push_back(c.referral_id());
    return ids;
  }
  // The referral's stored events of one payload type.
  std::vector<v1::EventEnvelope> EventsOf(const std::string& referral_id,
                                          const std::string& type) {
    auto stored = store::ListReferralEvents(*db_, referral_id);
    EXPECT_TRUE(stored.ok()) << stored.status();
    std::vector<v1::EventEnvelope> out;
    if (!stored.ok()) return out;
    for (const store::StoredEvent& e : *stored) {
      if (e.envelope.type() == "signpost.v1." + type) {
        out.push_back(e.envelope);
      }
    }
    return out;
  }

  static void ExpectRule(const absl::Status& s, const std::string& rule) {
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr(rule));
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  absl::Time now_ = timeutil::NowMillis();
  TriageApp triage_;
  MaracApp marac_;
};

constexpr absl::Duration kDay = absl::Hours(24);

TEST_F(MaracAppTest, AgendaPutsRepeatCasesFirstThenHigherDash) {
  const v1::MaracMeeting m = Schedule(7 * kDay, 5 * kDay, 10);
  const std::string dash15 = Decided(15);
  const std::string dash20 = Decided(20);
  const std::string first = Decided(14, "person-1");
  const std::string repeat = Decided(14, "person-1");
  const std::string not_marac = Decided(5);

  v1::MaracMeeting agenda = Get(m.meeting_id());
  EXPECT_THAT(CaseIds(agenda), ElementsAre(repeat, dash20, dash15, first));
  ASSERT_EQ(agenda.cases_size(), 4);
  EXPECT_TRUE(agenda.cases(0).repeat_marac());
  EXPECT_FALSE(agenda.cases(1).repeat_marac());
  for (int i = 0; i < agenda.cases_size(); ++i) {
    EXPECT_EQ(agenda.cases(i).position(), i + 1);
    EXPECT_EQ(agenda.cases(i).risk(), v1::RISK_LEVEL_HIGH);
    EXPECT_FALSE(agenda.cases(i).heard());
  }
  EXPECT_EQ(agenda.cases(1).dash_score(), 20);
  // Each listing is an event, in the decision's transaction; the repeat
  // case is flagged on it.
  std::vector<v1::EventEnvelope> listed = EventsOf(repeat, "MaracCaseListed");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].marac_case_listed().meeting_id(), m.meeting_id());
  EXPECT_TRUE(listed[0].marac_case_listed().repeat_marac());
  EXPECT_EQ(listed[0].marac_case_listed().position(), 1);
  EXPECT_TRUE(EventsOf(not_marac, "MaracCaseListed").empty());
}

TEST_F(MaracAppTest, CasesWaitForAMeetingWithRoomOldestDecisionFirst) {
  const v1::MaracMeeting small = Schedule(7 * kDay, 5 * kDay, 1);
  const std::string a = Decided(15);
  const std::string b = Decided(20);
  const std::string c = Decided(16);
  EXPECT_THAT(CaseIds(Get(small.meeting_id())), ElementsAre(a));
  // A new meeting takes the waiting cases, oldest decision first, while it
  // has room.
  const v1::MaracMeeting next = Schedule(14 * kDay, 12 * kDay, 1);
  EXPECT_THAT(CaseIds(next), ElementsAre(b));
  const v1::MaracMeeting third = Schedule(21 * kDay, 19 * kDay, 5);
  EXPECT_THAT(CaseIds(third), ElementsAre(c));
  EXPECT_EQ(EventsOf(c, "MaracCaseListed").size(), 1u);
}

TEST_F(MaracAppTest, ACaseDecidedAfterTheAgendaClosesGoesToTheNextMeeting) {
  const absl::Time real = now_;
  now_ = real - absl::Hours(2);  // scheduled two hours ago...
  const v1::MaracMeeting closing = Schedule(2 * kDay, absl::Hours(1), 10);
  now_ = real;  // ...with an agenda that closed an hour ago
  const v1::MaracMeeting next = Schedule(9 * kDay, 7 * kDay, 10);
  const std::string a = Decided(15);
  EXPECT_TRUE(Get(closing.meeting_id()).cases().empty());
  EXPECT_THAT(CaseIds(Get(next.meeting_id())), ElementsAre(a));
}

TEST_F(MaracAppTest, CloseCarriesOpenActionsAndMovesCasesNotHeard) {
  const v1::MaracMeeting first = Schedule(kDay, absl::Hours(12), 10);
  const v1::MaracMeeting second = Schedule(8 * kDay, 7 * kDay, 10);
  const std::string heard = Decided(20);
  const std::string unheard = Decided(15);
  EXPECT_THAT(CaseIds(Get(first.meeting_id())), ElementsAre(heard, unheard));

  now_ += kDay + absl::Hours(1);  // the meeting meets
  ASSERT_TRUE(Hear(first.meeting_id(), heard).ok());
  auto housing = Allocate(first.meeting_id(), heard, "wm-refuge");
  ASSERT_TRUE(housing.ok()) << housing.status();
  auto marker = Allocate(first.meeting_id(), heard, "police-wmp",
                         v1::MARAC_ACTION_KIND_POLICE_MARKER);
  ASSERT_TRUE(marker.ok()) << marker.status();
  // The allocated agency completes its own action.
  v1::CompleteActionRequest done;
  done.set_action_id(marker->action_id());
  auto completed =
      marac_.CompleteAction(As("police-wmp"), done, NewTraceparent());
  ASSERT_TRUE(completed.ok()) << completed.status();
  EXPECT_EQ(completed->state(), v1::MARAC_ACTION_STATE_DONE);

  auto minutes = Close(first.meeting_id());
  ASSERT_TRUE(minutes.ok()) << minutes.status();
  EXPECT_EQ(minutes->state(), v1::MARAC_MEETING_STATE_CLOSED);
  ASSERT_EQ(minutes->cases_size(), 2);
  EXPECT_TRUE(minutes->cases(0).heard());
  EXPECT_EQ(minutes->cases(0).actions_size(), 2);
  EXPECT_FALSE(minutes->cases(1).heard());
  EXPECT_EQ(minutes->cases(0).actions(0).carried_to(0), second.meeting_id());

  // The next meeting: the case not heard, first on its agenda, and the one
  // action still open.
  v1::MaracMeeting next = Get(second.meeting_id());
  EXPECT_THAT(CaseIds(next), ElementsAre(unheard));
  EXPECT_EQ(next.cases(0).carried_from(), first.meeting_id());
  ASSERT_EQ(next.carried_actions_size(), 1);
  EXPECT_EQ(next.carried_actions(0).action_id(), housing->action_id());
  EXPECT_THAT(next.carried_actions(0).carried_to(),
              ElementsAre(second.meeting_id()));

  // Still open at the second meeting, and not heard again: both go on to
  // the third, scheduled after the second closed.
  now_ += 8 * kDay;
  ASSERT_TRUE(Close(second.meeting_id()).ok());
  const v1::MaracMeeting third = Schedule(7 * kDay, 5 * kDay, 10);
  EXPECT_THAT(CaseIds(third), ElementsAre(unheard));
  EXPECT_EQ(third.cases(0).carried_from(), second.meeting_id());
  ASSERT_EQ(third.carried_actions_size(), 1);
  EXPECT_THAT(third.carried_actions(0).carried_to(),
              ElementsAre(second.meeting_id(), third.meeting_id()));

  // The agency is told of its action (partner delivery reads this event).
  std::vector<v1::EventEnvelope> allocated =
      EventsOf(heard, "MaracActionAllocated");
  ASSERT_EQ(allocated.size(), 2u);
  const v1::MaracActionAllocated& a = allocated[0].marac_action_allocated();
  EXPECT_EQ(a.agency_id(), "wm-refuge");
  EXPECT_EQ(a.kind(), "MARAC_ACTION_KIND_HOUSING");
  EXPECT_EQ(a.meeting_id(), first.meeting_id());
  EXPECT_EQ(a.area_code(), "WMP");
  EXPECT_EQ(EventsOf(heard, "MaracCaseHeard").size(), 1u);
  EXPECT_EQ(EventsOf(heard, "MaracActionCompleted").size(), 1u);
}

// Minutes are a record: a reassessment after the meeting closed changes
// the referral's decision, not what the meeting heard.
TEST_F(MaracAppTest, ClosedMinutesKeepTheFieldSetAsHeard) {
  const v1::MaracMeeting m = Schedule(kDay, absl::Hours(12), 10);
  const std::string a = Decided(15);
  now_ += kDay + absl::Hours(1);
  ASSERT_TRUE(Hear(m.meeting_id(), a).ok());
  auto closed = Close(m.meeting_id());
  ASSERT_TRUE(closed.ok()) << closed.status();
  ASSERT_EQ(closed->cases_size(), 1);
  EXPECT_EQ(closed->cases(0).dash_score(), 15);
  Reassess(a, 20);
  const v1::MaracMeeting later = Get(m.meeting_id());
  ASSERT_EQ(later.cases_size(), 1);
  EXPECT_EQ(later.cases(0).dash_score(), 15);
  EXPECT_TRUE(later.cases(0).heard());
}

TEST_F(MaracAppTest, RefusedTransitionsNameTheirRule) {
  const v1::MaracMeeting m = Schedule(kDay, absl::Hours(12), 10);
  const std::string a = Decided(20);
  const std::string b = Decided(15);
  const std::string elsewhere = NewUuid();
  ExpectRule(Hear(m.meeting_id(), a).status(), kRuleMeetingNotHeld);
  ExpectRule(Close(m.meeting_id()).status(), kRuleMeetingNotHeld);

  now_ += kDay + absl::Hours(1);
  ExpectRule(Hear(m.meeting_id(), elsewhere).status(), kRuleCaseNotListed);
  ExpectRule(Allocate(m.meeting_id(), b, "wm-refuge").status(),
             kRuleCaseNotHeard);
  ExpectRule(Allocate(m.meeting_id(), elsewhere, "wm-refuge").status(),
             kRuleCaseNotListed);
  ASSERT_TRUE(Hear(m.meeting_id(), a).ok());
  EXPECT_TRUE(Hear(m.meeting_id(), a).ok());  // again: as it is
  EXPECT_EQ(EventsOf(a, "MaracCaseHeard").size(), 1u);
  absl::Status unregistered =
      Allocate(m.meeting_id(), a, "not-registered").status();
  EXPECT_EQ(unregistered.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(unregistered.message()), HasSubstr("agency_id"));

  ASSERT_TRUE(Close(m.meeting_id()).ok());
  ExpectRule(Close(m.meeting_id()).status(), kRuleMeetingClosed);
  ExpectRule(Hear(m.meeting_id(), b).status(), kRuleMeetingClosed);
  ExpectRule(Allocate(m.meeting_id(), a, "wm-refuge").status(),
             kRuleMeetingClosed);
  EXPECT_EQ(marac_.GetMeeting(As(kMarac), NewUuid()).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(MaracAppTest, ACaseThatLeavesMaracIsTakenOffTheAgenda) {
  const v1::MaracMeeting m = Schedule(7 * kDay, 5 * kDay, 10);
  const std::string a = Decided(15);
  EXPECT_THAT(CaseIds(Get(m.meeting_id())), ElementsAre(a));
  Reassess(a, 5);
  EXPECT_TRUE(Get(m.meeting_id()).cases().empty());
  Reassess(a, 16);  // back to MARAC: listed again
  EXPECT_THAT(CaseIds(Get(m.meeting_id())), ElementsAre(a));
  EXPECT_EQ(EventsOf(a, "MaracCaseListed").size(), 2u);
}

TEST_F(MaracAppTest, AgendaAndMinutesHoldNoPersonalDataOrFreeText) {
  const v1::MaracMeeting m = Schedule(kDay, absl::Hours(12), 10);
  // Example T01 as submitted: a name, a phone number, a narrative.
  const v1::SubmitReferralRequest submitted =
      testing::LoadExample("t01_strangulation_punjabi");
  v1::ReferralFacts facts = intake::ExtractFacts(submitted.referral());
  facts.set_person_id("person-7f3a9c21");  // Signpost's pseudonym
  const std::string a = Received(facts);
  now_ += kDay + absl::Hours(1);
  ASSERT_TRUE(Hear(m.meeting_id(), a).ok());
  ASSERT_TRUE(Allocate(m.meeting_id(), a, "wm-refuge").ok());
  auto minutes = Close(m.meeting_id());
  ASSERT_TRUE(minutes.ok()) << minutes.status();
  ASSERT_EQ(minutes->cases_size(), 1);
  EXPECT_EQ(minutes->cases(0).actions_size(), 1);

  const v1::Referral& r = submitted.referral();
  const std::vector<std::string> personal = {
      r.personal().full_name(),
      r.personal().phone(),
      r.personal().narrative(),
      r.victim().victim_ref(),
      r.reporting().crime_reference(),
      r.safe_contact().safe_times(),
      "900123",
      r.locality_code(),
      "person-7f3a9c21",
  };
  const std::string text =
      minutes->DebugString() + Get(m.meeting_id()).DebugString();
  for (const std::string& value : personal) {
    ASSERT_FALSE(value.empty());
    EXPECT_THAT(text, Not(HasSubstr(value)));
  }
  EXPECT_THAT(text, HasSubstr(a));  // the case is there, by id
}

// The adapter: the gate refuses callers outside each RPC's rule, and the
// app refuses a MARAC coordinator of another area.
class MaracServiceTest : public MaracAppTest {
 protected:
  MaracServiceTest()
      : gate_(*db_, "triage"),
        api_(
            marac_, [] {}, gate_.gate()),
        server_({&api_}) {}

  v1::MaracService::Stub* Stub(const std::string& agency) {
    auto& stub = stubs_[agency];
    if (stub == nullptr) {
      stub = v1::MaracService::NewStub(server_.ChannelAs(agency));
    }
    return stub.get();
  }

  // Calls every RPC as `agency` about `meeting_id`, `referral_id` and
  // `action_id`; returns each call's status by method.
  std::map<std::string, grpc::Status> CallEvery(const std::string& agency,
                                                const std::string& meeting_id,
                                                const std::string& referral_id,
                                                const std::string& action_id) {
    std::map<std::string, grpc::Status> out;
    v1::MaracService::Stub* stub = Stub(agency);
    {
      v1::ScheduleMeetingRequest r;
      r.set_area_code("WMP");
      *r.mutable_meeting_at() = timeutil::ToTimestamp(absl::Now() + 7 * kDay);
      *r.mutable_agenda_closes_at() =
          timeutil::ToTimestamp(absl::Now() + 5 * kDay);
      r.set_capacity(5);
      v1::MaracMeeting resp;
      auto ctx = testing::ContextWithDeadline();
      out["ScheduleMeeting"] = testing::Unwrapped<v1::ScheduleMeetingResponse>(
          [&](v1::ScheduleMeetingResponse* answer) {
            return stub->ScheduleMeeting(ctx.get(), r, answer);
          },
          &resp, &v1::ScheduleMeetingResponse::meeting);
    }
    {
      v1::ListMeetingsRequest r;
      r.set_area_code("WMP");
      v1::ListMeetingsResponse resp;
      auto ctx = testing::ContextWithDeadline();
      out["ListMeetings"] = stub->ListMeetings(ctx.get(), r, &resp);
    }
    {
      v1::GetMeetingRequest r;
      r.set_meeting_id(meeting_id);
      v1::MaracMeeting resp;
      auto ctx = testing::ContextWithDeadline();
      out["GetMeeting"] = testing::Unwrapped<v1::GetMeetingResponse>(
          [&](v1::GetMeetingResponse* answer) {
            return stub->GetMeeting(ctx.get(), r, answer);
          },
          &resp, &v1::GetMeetingResponse::meeting);
    }
    {
      v1::MarkHeardRequest r;
      r.set_meeting_id(meeting_id);
      r.set_referral_id(referral_id);
      v1::MaracCase resp;
      auto ctx = testing::ContextWithDeadline();
      out["MarkHeard"] = testing::Unwrapped<v1::MarkHeardResponse>(
          [&](v1::MarkHeardResponse* answer) {
            return stub->MarkHeard(ctx.get(), r, answer);
          },
          &resp, &v1::MarkHeardResponse::marac_case);
    }
    {
      v1::AllocateActionRequest r;
      r.set_meeting_id(meeting_id);
      r.set_referral_id(referral_id);
      r.set_agency_id("wm-refuge");
      r.set_kind(v1::MARAC_ACTION_KIND_HOUSING);
      *r.mutable_due() = timeutil::ToTimestamp(absl::Now() + 30 * kDay);
      v1::MaracAction resp;
      auto ctx = testing::ContextWithDeadline();
      out["AllocateAction"] = testing::Unwrapped<v1::AllocateActionResponse>(
          [&](v1::AllocateActionResponse* answer) {
            return stub->AllocateAction(ctx.get(), r, answer);
          },
          &resp, &v1::AllocateActionResponse::action);
    }
    {
      v1::CompleteActionRequest r;
      r.set_action_id(action_id);
      v1::MaracAction resp;
      auto ctx = testing::ContextWithDeadline();
      out["CompleteAction"] = testing::Unwrapped<v1::CompleteActionResponse>(
          [&](v1::CompleteActionResponse* answer) {
            return stub->CompleteAction(ctx.get(), r, answer);
          },
          &resp, &v1::CompleteActionResponse::action);
    }
    {
      v1::CloseMeetingRequest r;
      r.set_meeting_id(meeting_id);
      v1::MaracMeeting resp;
      auto ctx = testing::ContextWithDeadline();
      out["CloseMeeting"] = testing::Unwrapped<v1::CloseMeetingResponse>(
          [&](v1::CloseMeetingResponse* answer) {
            return stub->CloseMeeting(ctx.get(), r, answer);
          },
          &resp, &v1::CloseMeetingResponse::meeting);
    }
    return out;
  }

  testing::TestGate gate_;
  MaracServiceImpl api_;
  testing::InProcessServer server_;
  std::map<std::string, std::unique_ptr<v1::MaracService::Stub>> stubs_;
};

TEST_F(MaracServiceTest, EveryRpcRefusesACallerOutsideItsRule) {
  // A held meeting with a heard case and an action for wm-refuge.
  const v1::MaracMeeting m = Schedule(kDay, absl::Hours(12), 10);
  const std::string r = Decided(20);
  now_ += kDay + absl::Hours(1);
  ASSERT_TRUE(Hear(m.meeting_id(), r).ok());
  auto action = Allocate(m.meeting_id(), r, "wm-refuge");
  ASSERT_TRUE(action.ok()) << action.status();

  for (const char* agency : {kProvider, kReferrer, kOtherMarac}) {
    for (const auto& [method, status] :
         CallEvery(agency, m.meeting_id(), r, action->action_id())) {
      EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED)
          << agency << " " << method << ": " << status.error_message();
    }
  }
  // The operator reads, and may change nothing.
  auto ops = CallEvery(kOperator, m.meeting_id(), r, action->action_id());
  EXPECT_TRUE(ops["ListMeetings"].ok()) << ops["ListMeetings"].error_message();
  EXPECT_TRUE(ops["GetMeeting"].ok()) << ops["GetMeeting"].error_message();
  for (const char* method : {"ScheduleMeeting", "MarkHeard", "AllocateAction",
                             "CompleteAction", "CloseMeeting"}) {
    EXPECT_EQ(ops[method].error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << method;
  }
  // The agency the action is allocated to completes it.
  v1::CompleteActionRequest done;
  done.set_action_id(action->action_id());
  v1::MaracAction resp;
  auto ctx = testing::ContextWithDeadline();
  grpc::Status ok = testing::Unwrapped<v1::CompleteActionResponse>(
      [&](v1::CompleteActionResponse* answer) {
        return Stub("wm-refuge")->CompleteAction(ctx.get(), done, answer);
      },
      &resp, &v1::CompleteActionResponse::action);
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_EQ(resp.state(), v1::MARAC_ACTION_STATE_DONE);
}

TEST_F(MaracServiceTest, BadRequestsNameEveryBadField) {
  v1::ScheduleMeetingRequest r;
  r.set_capacity(500);
  v1::MaracMeeting resp;
  auto ctx = testing::ContextWithDeadline();
  grpc::Status s = testing::Unwrapped<v1::ScheduleMeetingResponse>(
      [&](v1::ScheduleMeetingResponse* answer) {
        return Stub(kMarac)->ScheduleMeeting(ctx.get(), r, answer);
      },
      &resp, &v1::ScheduleMeetingResponse::meeting);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(testing::BadFields(s),
              ::testing::UnorderedElementsAre("area_code", "meeting_at",
                                              "agenda_closes_at", "capacity"));
  // A refused transition carries its rule.
  const v1::MaracMeeting m = Schedule(7 * kDay, 5 * kDay, 10);
  v1::CloseMeetingRequest close;
  close.set_meeting_id(m.meeting_id());
  auto ctx2 = testing::ContextWithDeadline();
  s = testing::Unwrapped<v1::CloseMeetingResponse>(
      [&](v1::CloseMeetingResponse* answer) {
        return Stub(kMarac)->CloseMeeting(ctx2.get(), close, answer);
      },
      &resp, &v1::CloseMeetingResponse::meeting);
  ASSERT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(testing::RuleIds(s), ElementsAre(kRuleMeetingNotHeld));
}

}  // namespace
}  // namespace signpost::triage
