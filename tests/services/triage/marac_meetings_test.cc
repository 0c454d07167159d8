// MARAC meetings' domain rules (marac_meetings.h): placement, agenda order,
// request checks and refused transitions, table-driven.
#include "services/triage/marac_meetings.h"

#include <string>
#include <vector>

#include "common/errors/errors.h"
#include "common/time/timestamps.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace signpost::triage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

const absl::Time kNow = absl::FromUnixSeconds(1717405200);

MeetingRecord Meeting(
    const std::string& id, int days, int closes_days, int capacity, int listed,
    v1::MaracMeetingState state = v1::MARAC_MEETING_STATE_SCHEDULED) {
  MeetingRecord m;
  m.meeting_id = id;
  m.area_code = "WMP";
  m.meeting_at = kNow + absl::Hours(24 * days);
  m.agenda_closes_at = kNow + absl::Hours(24 * closes_days);
  m.capacity = capacity;
  m.listed = listed;
  m.state = state;
  return m;
}

TEST(MaracPlacementTest, TheEarliestScheduledMeetingWithRoomAndAnOpenAgenda) {
  const auto closed = v1::MARAC_MEETING_STATE_CLOSED;
  struct Case {
    const char* name;
    std::vector<MeetingRecord> meetings;
    std::string want;  // "" for none
  };
  const Case cases[] = {
      {"none scheduled", {}, ""},
      {"the only one", {Meeting("a", 7, 5, 10, 0)}, "a"},
      {"the earliest, whatever the order given",
       {Meeting("late", 14, 12, 10, 0), Meeting("soon", 7, 5, 10, 0)},
       "soon"},
      {"full: the next",
       {Meeting("soon", 7, 5, 2, 2), Meeting("late", 14, 12, 10, 0)},
       "late"},
      {"agenda closed: the next",
       {Meeting("soon", 7, -1, 10, 0), Meeting("late", 14, 12, 10, 0)},
       "late"},
      {"agenda closes right now: the next",
       {Meeting("soon", 7, 0, 10, 0), Meeting("late", 14, 12, 10, 0)},
       "late"},
      {"closed meetings take nothing",
       {Meeting("soon", 7, 5, 10, 0, closed), Meeting("late", 14, 12, 10, 9)},
       "late"},
      {"all full", {Meeting("a", 7, 5, 1, 1), Meeting("b", 14, 12, 3, 3)}, ""},
      {"same time: by id",
       {Meeting("b", 7, 5, 10, 0), Meeting("a", 7, 5, 10, 0)},
       "a"},
  };
  for (const Case& c : cases) {
    std::optional<size_t> chosen = ChooseMeeting(c.meetings, kNow);
    EXPECT_EQ(chosen.has_value() ? c.meetings[*chosen].meeting_id : "", c.want)
        << c.name;
  }
}

TEST(MaracPlacementTest, ActionsGoToTheNextScheduledMeetingEvenWhenFull) {
  std::vector<MeetingRecord> meetings = {
      Meeting("closed", 1, 0, 5, 0, v1::MARAC_MEETING_STATE_CLOSED),
      Meeting("late", 14, 12, 10, 0), Meeting("full", 7, -1, 1, 1)};
  std::optional<size_t> next = NextMeetingForActions(meetings);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(meetings[*next].meeting_id, "full");
  EXPECT_FALSE(NextMeetingForActions({meetings[0]}).has_value());
}

ListedCase Listed(const std::string& id, bool carried, bool repeat, int dash,
                  int decided_minutes) {
  ListedCase c;
  c.meeting_id = "m";
  c.referral_id = id;
  c.carried_from = carried ? "earlier" : "";
  c.decision.set_repeat_marac(repeat);
  c.decision.set_dash_score(dash);
  c.decided_at = kNow + absl::Minutes(decided_minutes);
  return c;
}

TEST(MaracAgendaTest, CarriedThenRepeatThenHigherDashThenOlderDecision) {
  std::vector<ListedCase> agenda = {
      Listed("new-dash-15-late", false, false, 15, 20),
      Listed("new-dash-15-early", false, false, 15, 10),
      Listed("new-dash-20", false, false, 20, 30),
      Listed("repeat-dash-14", false, true, 14, 40),
      Listed("carried-dash-10", true, false, 10, 50),
      Listed("repeat-dash-18", false, true, 18, 60),
      Listed("b-tie", false, false, 12, 5),
      Listed("a-tie", false, false, 12, 5),
  };
  SortAgenda(agenda);
  std::vector<std::string> order;
  for (const ListedCase& c : agenda) order.push_back(c.referral_id);
  EXPECT_THAT(
      order, ElementsAre("carried-dash-10", "repeat-dash-18", "repeat-dash-14",
                         "new-dash-20", "new-dash-15-early", "new-dash-15-late",
                         "a-tie", "b-tie"));
}

TEST(MaracAgendaTest, AnAgendaCaseHoldsOnlyTheMaracFieldSet) {
  ListedCase c = Listed("r1", false, true, 19, 0);
  c.decision.set_person_id("person-secret");
  c.decision.set_language("pa");
  c.decision.set_locality_code("WMP-WORC");
  c.decision.set_marac(true);
  c.decision.set_risk(v1::RISK_LEVEL_HIGH);
  c.decision.set_legal_basis("DPA2018-SCH1-PARA18");
  c.decision.mutable_contact_rules()->set_voicemail_safe(true);
  v1::RuleReason* marac = c.decision.add_reasons();
  marac->set_rule_id("MARAC-VISIBLE");
  c.decision.add_reasons()->set_rule_id("PATHWAY-IDVA");
  c.heard_at = kNow + absl::Hours(1);
  v1::MaracCase out = AgendaCase(c, 3);
  EXPECT_EQ(out.referral_id(), "r1");
  EXPECT_EQ(out.position(), 3);
  EXPECT_EQ(out.dash_score(), 19);
  EXPECT_TRUE(out.repeat_marac());
  EXPECT_TRUE(out.heard());
  EXPECT_EQ(out.legal_basis(), "DPA2018-SCH1-PARA18");
  ASSERT_EQ(out.reasons_size(), 1);
  EXPECT_EQ(out.reasons(0).rule_id(), "MARAC-VISIBLE");
  const std::string text = out.DebugString();
  EXPECT_THAT(text, ::testing::Not(HasSubstr("person-secret")));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("WMP-WORC")));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("PATHWAY-IDVA")));
}

std::vector<std::string> Fields(const errors::FieldErrors& errors) {
  std::vector<std::string> fields;
  for (const auto& v : errors.violations()) fields.push_back(v.field);
  return fields;
}

TEST(MaracValidationTest, ScheduleMeetingNamesEveryBadField) {
  v1::ScheduleMeetingRequest ok;
  ok.set_area_code("WMP");
  *ok.mutable_meeting_at() = timeutil::ToTimestamp(kNow + absl::Hours(48));
  *ok.mutable_agenda_closes_at() =
      timeutil::ToTimestamp(kNow + absl::Hours(24));
  ok.set_capacity(20);
  EXPECT_TRUE(ValidateScheduleMeeting(ok, kNow).empty());

  v1::ScheduleMeetingRequest bad;
  EXPECT_THAT(Fields(ValidateScheduleMeeting(bad, kNow)),
              UnorderedElementsAre("area_code", "meeting_at",
                                   "agenda_closes_at", "capacity"));
  bad = ok;
  *bad.mutable_meeting_at() = timeutil::ToTimestamp(kNow - absl::Hours(1));
  bad.set_capacity(101);
  EXPECT_THAT(
      Fields(ValidateScheduleMeeting(bad, kNow)),
      UnorderedElementsAre("meeting_at", "agenda_closes_at", "capacity"));
  bad = ok;
  *bad.mutable_agenda_closes_at() = ok.meeting_at();  // not before it
  bad.set_capacity(0);
  EXPECT_THAT(Fields(ValidateScheduleMeeting(bad, kNow)),
              UnorderedElementsAre("agenda_closes_at", "capacity"));
}

TEST(MaracValidationTest, AllocateActionNamesEveryBadField) {
  v1::AllocateActionRequest bad;
  bad.set_agency_id("Not An Id");
  bad.set_kind(static_cast<v1::MaracActionKind>(99));
  EXPECT_THAT(Fields(ValidateAllocateAction(bad)),
              UnorderedElementsAre("meeting_id", "referral_id", "agency_id",
                                   "kind", "due"));
}

TEST(MaracTransitionTest, EachRefusalNamesItsRule) {
  const MeetingRecord held = Meeting("m", -1, -2, 10, 1);
  const MeetingRecord future = Meeting("m", 7, 5, 10, 1);
  const MeetingRecord closed =
      Meeting("m", -1, -2, 10, 1, v1::MARAC_MEETING_STATE_CLOSED);
  ListedCase heard = Listed("r1", false, false, 15, 0);
  heard.heard_at = kNow;
  const ListedCase unheard = Listed("r1", false, false, 15, 0);
  v1::AllocateActionRequest r;
  r.set_referral_id("r1");
  r.set_agency_id("police-wmp");
  *r.mutable_due() = timeutil::ToTimestamp(kNow + absl::Hours(24 * 30));
  struct Case {
    const char* name;
    MeetingRecord meeting;
    std::optional<ListedCase> listed;
    std::string want_rule;  // "" for allowed
  };
  const Case cases[] = {
      {"heard at a held meeting", held, heard, ""},
      {"closed meeting", closed, heard, kRuleMeetingClosed},
      {"not met yet", future, heard, kRuleMeetingNotHeld},
      {"not on the agenda", held, std::nullopt, kRuleCaseNotListed},
      {"not heard", held, unheard, kRuleCaseNotHeard},
  };
  for (const Case& c : cases) {
    absl::Status s = CheckAllocation(c.meeting, c.listed, r, true, kNow);
    if (c.want_rule.empty()) {
      EXPECT_TRUE(s.ok()) << c.name << ": " << s;
      continue;
    }
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << c.name;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.want_rule)) << c.name;
  }
  // Bad fields first, together.
  v1::AllocateActionRequest early = r;
  *early.mutable_due() = timeutil::ToTimestamp(held.meeting_at);
  absl::Status s = CheckAllocation(closed, heard, early, false, kNow);
  ASSERT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  std::vector<std::string> fields;
  for (const auto& v : errors::FieldViolationsOf(s)) fields.push_back(v.field);
  EXPECT_THAT(fields, UnorderedElementsAre("agency_id", "due"));

  EXPECT_TRUE(CheckHeld(held, kNow).ok());
  EXPECT_THAT(std::string(CheckHeld(closed, kNow).message()),
              HasSubstr(kRuleMeetingClosed));
  EXPECT_TRUE(CheckScheduled(future).ok());
}

}  // namespace
}  // namespace signpost::triage
