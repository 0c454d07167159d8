#include "services/triage/rules.h"

#include <algorithm>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/intake/validation.h"
#include "tests/support/test_support.h"

namespace signpost::triage {
namespace {

using ::testing::ElementsAreArray;
using ::testing::IsSupersetOf;
using ::testing::UnorderedElementsAreArray;

std::vector<std::string> Rules(const v1::ReferralTriaged& d) {
  std::vector<std::string> out;
  for (const auto& r : d.reasons()) out.push_back(r.rule_id());
  return out;
}

std::vector<v1::Pathway> Pathways(const v1::ReferralTriaged& d) {
  std::vector<v1::Pathway> out;
  for (int p : d.pathways()) out.push_back(static_cast<v1::Pathway>(p));
  return out;
}

std::vector<v1::Consideration> Considerations(const v1::ReferralTriaged& d) {
  std::vector<v1::Consideration> out;
  for (int c : d.considerations())
    out.push_back(static_cast<v1::Consideration>(c));
  return out;
}

v1::ReferralFacts Facts(const std::string& example) {
  return intake::ExtractFacts(testing::LoadExample(example).referral());
}

v1::ReferralTriaged DecideExample(const std::string& example) {
  return Decide(TriagePolicy(), Facts(example), VictimHistory());
}

struct Scenario {
  std::string example;
  v1::RiskLevel risk;
  bool marac;
  std::vector<v1::Pathway> pathways;
  std::vector<v1::Consideration> considerations;
  v1::Priority priority;
  bool enhanced;
  std::vector<std::string> must_cite;
};

// ../shared/scenarios.md T1-T10, as written (deadlines come with the triage
// issue).
const std::vector<Scenario>& Scenarios() {
  static const auto* s = new std::vector<Scenario>{
      {"t01_strangulation_punjabi",
       v1::RISK_LEVEL_HIGH,
       true,
       {v1::PATHWAY_IDVA, v1::PATHWAY_PERPETRATOR_PROGRAMME},
       {v1::CONSIDERATION_DVDS, v1::CONSIDERATION_DAPN},
       v1::PRIORITY_HIGH,
       true,
       {"PJ-RAISE", "MARAC-PJ", "LANGUAGE", "ENHANCED"}},
      {"t02_standard_da",
       v1::RISK_LEVEL_STANDARD,
       false,
       {v1::PATHWAY_DA_OUTREACH, v1::PATHWAY_PERPETRATOR_PROGRAMME},
       {v1::CONSIDERATION_DVDS},
       v1::PRIORITY_STANDARD,
       true,
       {"DASH-SCORE", "DA-STANDARD", "PERP-STANDARD"}},
      {"t03_escalation",
       v1::RISK_LEVEL_HIGH,
       true,
       {v1::PATHWAY_IDVA},
       {v1::CONSIDERATION_DVDS},
       v1::PRIORITY_HIGH,
       true,
       {"MARAC-ESCALATION", "MARAC-HIGH", "DA-HIGH"}},
      {"t04_recent_rape_ae",
       v1::RISK_LEVEL_STANDARD,
       false,
       {v1::PATHWAY_ISVA, v1::PATHWAY_SARC},
       {},
       v1::PRIORITY_URGENT,
       true,
       {"SV-ADULT", "SV-RECENT", "ENHANCED"}},
      {"t05_child_sv",
       v1::RISK_LEVEL_STANDARD,
       false,
       {v1::PATHWAY_CHISVA},
       {},
       v1::PRIORITY_HIGH,
       true,
       {"SV-CHILD", "ENHANCED"}},
      {"t06_stalking_former_partner",
       v1::RISK_LEVEL_HIGH,
       false,
       {v1::PATHWAY_ISAC, v1::PATHWAY_STALKING_CLINIC},
       {v1::CONSIDERATION_SPO, v1::CONSIDERATION_DVDS},
       v1::PRIORITY_HIGH,
       true,
       {"STALK-HIGH", "CONSIDER-SPO", "CONSIDER-DVDS"}},
      {"t07_sex_worker_assault",
       v1::RISK_LEVEL_STANDARD,
       false,
       {v1::PATHWAY_SPECIALIST_OUTREACH},
       {},
       v1::PRIORITY_STANDARD,
       true,
       {"HATE"}},
      {"t08_burglary_self_referral",
       v1::RISK_LEVEL_STANDARD,
       false,
       {v1::PATHWAY_GENERAL_SUPPORT},
       {},
       v1::PRIORITY_STANDARD,
       false,
       {"GENERAL"}},
      {"t09_high_risk_consent_refused",
       v1::RISK_LEVEL_HIGH,
       true,
       {v1::PATHWAY_IDVA},
       {v1::CONSIDERATION_DVDS},
       v1::PRIORITY_HIGH,
       true,
       {"MARAC-VISIBLE", "CONSENT"}},
      {"t10_bereaved_rj",
       v1::RISK_LEVEL_STANDARD,
       false,
       {v1::PATHWAY_RESTORATIVE_JUSTICE},
       {},
       v1::PRIORITY_STANDARD,
       true,
       {"RJ", "ENHANCED"}},
  };
  return *s;
}

class ScenarioTest : public ::testing::TestWithParam<Scenario> {};

TEST_P(ScenarioTest, DecisionMatchesScenariosMd) {
  const Scenario& s = GetParam();
  v1::ReferralTriaged d = DecideExample(s.example);
  EXPECT_EQ(d.risk(), s.risk);
  EXPECT_EQ(d.marac(), s.marac);
  EXPECT_THAT(Pathways(d), UnorderedElementsAreArray(s.pathways));
  EXPECT_THAT(Considerations(d), UnorderedElementsAreArray(s.considerations));
  EXPECT_EQ(d.priority(), s.priority);
  EXPECT_EQ(d.enhanced_rights(), s.enhanced);
  EXPECT_THAT(Rules(d), IsSupersetOf(s.must_cite));
  EXPECT_EQ(d.policy_version(), TriagePolicy().version);
}

INSTANTIATE_TEST_SUITE_P(T1ToT10, ScenarioTest,
                         ::testing::ValuesIn(Scenarios()),
                         [](const auto& info) {
                           return info.param.example.substr(0, 3);
                         });

TEST(ScenarioDetailTest, T1NeedsALanguageMatch) {
  EXPECT_TRUE(
      DecideExample("t01_strangulation_punjabi").language_match_required());
  EXPECT_FALSE(DecideExample("t02_standard_da").language_match_required());
}

TEST(ScenarioDetailTest, T5NotifiesChildrensSafeguarding) {
  EXPECT_TRUE(DecideExample("t05_child_sv").safeguarding_notification());
}

TEST(ScenarioDetailTest, T7IsHateCrimeWithoutGeneralSupport) {
  v1::ReferralTriaged d = DecideExample("t07_sex_worker_assault");
  EXPECT_TRUE(d.hate_crime());
  EXPECT_THAT(Rules(d), ::testing::Not(::testing::Contains("GENERAL")));
}

TEST(ScenarioDetailTest, T9RequiresConsentAndRecordsLegalBasisForMarac) {
  v1::ReferralTriaged d = DecideExample("t09_high_risk_consent_refused");
  EXPECT_EQ(d.status(), v1::REFERRAL_STATUS_CONSENT_REQUIRED);
  EXPECT_EQ(d.legal_basis(), "DPA2018-SCH1-PARA18");
}

TEST(ScenarioDetailTest, T10WaitsForOffenderConsent) {
  EXPECT_TRUE(DecideExample("t10_bereaved_rj").rj_awaiting_consent());
}

// Threshold edges: both sides of every number.
v1::ReferralFacts DaWithScore(int score) {
  v1::ReferralFacts f;
  f.add_harm_types(v1::HARM_TYPE_DOMESTIC_ABUSE);
  f.set_victim_age(30);
  f.set_language("en");
  // "Yes" answers fill every question but Q8 (the stalking trigger) first.
  for (int i = 0; i < 24; ++i) f.mutable_assessment()->add_dash_answers(false);
  int placed = 0;
  for (int i = 0; i < 24 && placed < score; ++i) {
    if (i == 7 && score < 24) continue;
    f.mutable_assessment()->set_dash_answers(i, true);
    ++placed;
  }
  f.mutable_report_time()->set_seconds(1717405200);
  f.mutable_consent()->set_referral_consent(v1::CONSENT_STATUS_GIVEN);
  return f;
}

TEST(ThresholdTest, DashBandsAndMaracThreshold) {
  struct Row {
    int score;
    v1::RiskLevel risk;
    bool marac;
  };
  for (const Row& row : std::vector<Row>{{0, v1::RISK_LEVEL_STANDARD, false},
                                         {9, v1::RISK_LEVEL_STANDARD, false},
                                         {10, v1::RISK_LEVEL_MEDIUM, false},
                                         {13, v1::RISK_LEVEL_MEDIUM, false},
                                         {14, v1::RISK_LEVEL_HIGH, true},
                                         {24, v1::RISK_LEVEL_HIGH, true}}) {
    v1::ReferralTriaged d = Decide(TriagePolicy(), DaWithScore(row.score), {});
    EXPECT_EQ(d.dash_score(), row.score);
    EXPECT_EQ(d.risk(), row.risk) << row.score;
    EXPECT_EQ(d.marac(), row.marac) << row.score;
  }
}

TEST(ThresholdTest, AreaMaracThresholdOf17SeparatesIdvaFromMarac) {
  TriagePolicy cambridgeshire;
  cambridgeshire.marac_threshold = 17;
  v1::ReferralTriaged d16 = Decide(cambridgeshire, DaWithScore(16), {});
  EXPECT_EQ(d16.risk(), v1::RISK_LEVEL_HIGH);
  EXPECT_FALSE(d16.marac());
  EXPECT_TRUE(Decide(cambridgeshire, DaWithScore(17), {}).marac());
}

TEST(ThresholdTest, EscalationAtTwoAndThreeIncidents) {
  v1::ReferralFacts f = DaWithScore(5);
  f.mutable_assessment()->set_incidents_last_12_months(2);
  EXPECT_FALSE(Decide(TriagePolicy(), f, {}).marac());
  f.mutable_assessment()->set_incidents_last_12_months(3);
  v1::ReferralTriaged d = Decide(TriagePolicy(), f, {});
  EXPECT_TRUE(d.marac());
  EXPECT_EQ(d.risk(), v1::RISK_LEVEL_HIGH);
}

TEST(ThresholdTest, RepeatMaracAt364And365ButNot366Days) {
  v1::ReferralFacts f = DaWithScore(5);
  absl::Time incident = absl::FromUnixSeconds(f.report_time().seconds());
  for (int days : {364, 365, 366}) {
    VictimHistory h{incident - absl::Hours(24) * days};
    v1::ReferralTriaged d = Decide(TriagePolicy(), f, h);
    EXPECT_EQ(d.marac(), days <= 365) << days;
    EXPECT_EQ(d.repeat_marac(), days <= 365) << days;
  }
}

TEST(ThresholdTest, SarcWindowIsSevenDays) {
  v1::ReferralFacts f = Facts("t04_recent_rape_ae");
  int64_t report = f.report_time().seconds();
  f.mutable_offence_time()->set_seconds(report - 7 * 86400);
  EXPECT_EQ(Decide(TriagePolicy(), f, {}).priority(), v1::PRIORITY_URGENT);
  f.mutable_offence_time()->set_seconds(report - 8 * 86400);
  v1::ReferralTriaged d = Decide(TriagePolicy(), f, {});
  EXPECT_EQ(d.priority(), v1::PRIORITY_STANDARD);
  EXPECT_THAT(Pathways(d), ElementsAreArray({v1::PATHWAY_ISVA}));
}

TEST(ThresholdTest, StalkingHighAtSdashSixNotFive) {
  v1::ReferralFacts f = Facts("t06_stalking_former_partner");
  auto* sdash = f.mutable_assessment()->mutable_sdash_answers();
  for (int i = 0; i < 11; ++i) sdash->Set(i, i < 5);
  EXPECT_EQ(Decide(TriagePolicy(), f, {}).risk(), v1::RISK_LEVEL_STANDARD);
  sdash->Set(5, true);
  EXPECT_EQ(Decide(TriagePolicy(), f, {}).risk(), v1::RISK_LEVEL_HIGH);
}

TEST(PropertyTest, ProfessionalJudgementNeverLowersAndEveryDecisionCitesARule) {
  for (int score = 0; score <= 24; ++score) {
    v1::ReferralFacts f = DaWithScore(score);
    v1::ReferralTriaged without = Decide(TriagePolicy(), f, {});
    f.mutable_assessment()->add_pj_flags(v1::PJ_FLAG_THREATS_TO_KILL);
    v1::ReferralTriaged with = Decide(TriagePolicy(), f, {});
    EXPECT_GE(with.risk(), without.risk());
    EXPECT_TRUE(with.marac() || !without.marac());
    EXPECT_GT(without.reasons_size(), 0);
    EXPECT_GT(with.reasons_size(), 0);
  }
}

}  // namespace
}  // namespace signpost::triage
