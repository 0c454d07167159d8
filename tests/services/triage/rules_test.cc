#include "services/triage/rules.h"

#include <algorithm>
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/errors/errors.h"
#include "common/time/timestamps.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/intake/validation.h"
#include "tests/services/triage/policy_fixture.h"
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
  return Decide(DefaultPolicy(), Facts(example), VictimHistory());
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
      // Offender consent not yet recorded: no RJ pathway until both are
      // given (issue 10), and no GENERAL_SUPPORT in its place.
      {"t10_bereaved_rj",
       v1::RISK_LEVEL_STANDARD,
       false,
       {},
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
  EXPECT_EQ(d.policy_version(), "signpost-default/2024.1");
}

INSTANTIATE_TEST_SUITE_P(T1ToT10, ScenarioTest,
                         ::testing::ValuesIn(Scenarios()),
                         [](const auto& info) {
                           return info.param.example.substr(0, 3);
                         });

// Issue 12: honour-based abuse, forced marriage, FGM and modern slavery.
// T2 (standard DA, DASH done) with its harm replaced.
v1::ReferralTriaged DecideWithHarm(v1::HarmType harm, int age = 30) {
  v1::ReferralFacts f = Facts("t02_standard_da");
  f.clear_harm_types();
  f.add_harm_types(harm);
  f.set_victim_age(age);
  return Decide(DefaultPolicy(), f, VictimHistory());
}

TEST(EnhancedRoutingTest, HbaAndForcedMarriageAreDomesticAbuseForRouting) {
  for (v1::HarmType harm :
       {v1::HARM_TYPE_HONOUR_BASED_ABUSE, v1::HARM_TYPE_FORCED_MARRIAGE}) {
    v1::ReferralTriaged d = DecideWithHarm(harm);
    SCOPED_TRACE(v1::HarmType_Name(harm));
    EXPECT_THAT(Rules(d),
                ::testing::IsSupersetOf({"HBA-FM", "DA-STANDARD", "ENHANCED"}));
    EXPECT_THAT(Pathways(d), ::testing::Contains(v1::PATHWAY_DA_OUTREACH));
    EXPECT_THAT(
        Pathways(d),
        ::testing::Not(::testing::Contains(v1::PATHWAY_GENERAL_SUPPORT)));
    EXPECT_TRUE(d.enhanced_rights());
  }
  // Without DASH it is incomplete, as domestic abuse is.
  v1::ReferralFacts f = Facts("t02_standard_da");
  f.clear_harm_types();
  f.add_harm_types(v1::HARM_TYPE_FORCED_MARRIAGE);
  f.mutable_assessment()->clear_dash_answers();
  v1::ReferralTriaged incomplete = Decide(DefaultPolicy(), f, VictimHistory());
  EXPECT_TRUE(incomplete.incomplete());
}

TEST(EnhancedRoutingTest, FgmAndModernSlaveryGetEnhancedRights) {
  v1::ReferralTriaged child = DecideWithHarm(v1::HARM_TYPE_FGM, 15);
  EXPECT_TRUE(child.safeguarding_notification());
  EXPECT_THAT(Rules(child), ::testing::IsSupersetOf({"FGM-CHILD", "ENHANCED"}));
  // The boundary: 18 is an adult.
  v1::ReferralTriaged adult = DecideWithHarm(v1::HARM_TYPE_FGM, 18);
  EXPECT_FALSE(adult.safeguarding_notification());
  EXPECT_TRUE(adult.enhanced_rights());
  EXPECT_THAT(Rules(adult), ::testing::Not(::testing::Contains("FGM-CHILD")));
  v1::ReferralTriaged slavery = DecideWithHarm(v1::HARM_TYPE_MODERN_SLAVERY);
  EXPECT_TRUE(slavery.enhanced_rights());
  bool cited = false;
  for (const auto& r : slavery.reasons()) {
    cited |= r.rule_id() == "ENHANCED" &&
             r.reason().find("modern slavery") != std::string::npos;
  }
  EXPECT_TRUE(cited);
}

// The first-contact deadlines of `d`, as "PATHWAY_X RULE-ID".
std::vector<std::string> FirstContacts(const v1::ReferralTriaged& d) {
  std::vector<std::string> out;
  for (const auto& dl : d.deadlines()) {
    if (dl.kind() != "FIRST_CONTACT") continue;
    out.push_back(
        absl::StrCat(v1::Pathway_Name(dl.pathway()), " ", dl.rule_id()));
  }
  return out;
}

// SLAVERY: the specialist pathway, with enhanced rights, instead of general
// support; its first contact is that of any non-SV pathway.
TEST(EnhancedRoutingTest, ModernSlaveryGoesToTheSpecialistService) {
  v1::ReferralTriaged d = DecideWithHarm(v1::HARM_TYPE_MODERN_SLAVERY);
  EXPECT_THAT(Pathways(d), ElementsAreArray({v1::PATHWAY_MODERN_SLAVERY}));
  EXPECT_THAT(Rules(d), IsSupersetOf({"SLAVERY", "ENHANCED"}));
  EXPECT_THAT(Rules(d), ::testing::Not(::testing::Contains("GENERAL")));
  EXPECT_TRUE(d.enhanced_rights());
  EXPECT_EQ(d.status(), v1::REFERRAL_STATUS_ROUTED);
  EXPECT_THAT(
      FirstContacts(d),
      ElementsAreArray({"PATHWAY_MODERN_SLAVERY SLA-STANDARD-CONTACT"}));

  // At high risk (professional judgement), the high-risk clock.
  v1::ReferralFacts high = Facts("t02_standard_da");
  high.clear_harm_types();
  high.add_harm_types(v1::HARM_TYPE_MODERN_SLAVERY);
  high.mutable_assessment()->add_pj_flags(
      v1::PROFESSIONAL_JUDGEMENT_FLAG_THREATS_TO_KILL);
  v1::ReferralTriaged h = Decide(DefaultPolicy(), high, VictimHistory());
  ASSERT_EQ(h.risk(), v1::RISK_LEVEL_HIGH);
  EXPECT_THAT(FirstContacts(h),
              ElementsAreArray({"PATHWAY_MODERN_SLAVERY SLA-HIGH-CONTACT"}));

  // Alongside domestic abuse: both services.
  v1::ReferralFacts both = Facts("t02_standard_da");
  both.add_harm_types(v1::HARM_TYPE_MODERN_SLAVERY);
  EXPECT_THAT(
      Pathways(Decide(DefaultPolicy(), both, VictimHistory())),
      IsSupersetOf({v1::PATHWAY_DA_OUTREACH, v1::PATHWAY_MODERN_SLAVERY}));
}

// An area without the service (the example area), or with SLAVERY switched
// off, still offers general support rather than nothing.
TEST(EnhancedRoutingTest, ModernSlaveryFallsBackToGeneralWithoutTheService) {
  v1::ReferralFacts f = Facts("t02_standard_da");
  f.clear_harm_types();
  f.add_harm_types(v1::HARM_TYPE_MODERN_SLAVERY);
  ASSERT_FALSE(Marac17Policy().PathwayAvailable(v1::PATHWAY_MODERN_SLAVERY));
  v1::ReferralTriaged area = Decide(Marac17Policy(), f, VictimHistory());
  EXPECT_THAT(Pathways(area), ElementsAreArray({v1::PATHWAY_GENERAL_SUPPORT}));
  EXPECT_TRUE(area.enhanced_rights());

  auto base = LoadShippedPolicy("default.textproto");
  v1::TriagePolicy config = base->config();
  config.add_disabled_rules("SLAVERY");
  auto off =
      Policy::Create(config, std::shared_ptr<const calendar::WorkingCalendar>(
                                 base, &base->calendar()));
  ASSERT_TRUE(off.ok()) << off.status();
  v1::ReferralTriaged d = Decide(**off, f, VictimHistory());
  EXPECT_THAT(Pathways(d), ElementsAreArray({v1::PATHWAY_GENERAL_SUPPORT}));
  EXPECT_THAT(Rules(d), ::testing::Not(::testing::Contains("SLAVERY")));
}

// SPECIALISM: cohort flags and age to directory specialisms, sorted and
// unique, cited when any.
TEST(SpecialismTest, CohortFlagsAndAgeNameThePreferredSpecialisms) {
  struct Case {
    std::vector<v1::CohortFlag> flags;
    int age;
    std::vector<std::string> want;
  };
  const std::vector<Case> cases = {
      {{}, 30, {}},
      {{}, 59, {}},
      {{}, 60, {"older-people"}},
      {{}, 88, {"older-people"}},
      {{v1::COHORT_FLAG_MALE_VICTIM}, 30, {"male-victims"}},
      {{v1::COHORT_FLAG_LGBT_PLUS}, 30, {"lgbt-plus"}},
      {{v1::COHORT_FLAG_LEARNING_DISABILITY}, 30, {"learning-disability"}},
      {{v1::COHORT_FLAG_DISABILITY}, 30, {"disability"}},
      {{v1::COHORT_FLAG_SEX_WORKER}, 30, {"sex-workers"}},
      {{v1::COHORT_FLAG_MALE_VICTIM, v1::COHORT_FLAG_LGBT_PLUS,
        v1::COHORT_FLAG_DISABILITY, v1::COHORT_FLAG_MALE_VICTIM},
       60,
       {"disability", "lgbt-plus", "male-victims", "older-people"}},
      {{v1::COHORT_FLAG_DISABILITY, v1::COHORT_FLAG_LEARNING_DISABILITY},
       59,
       {"disability", "learning-disability"}},
  };
  for (const Case& c : cases) {
    v1::ReferralFacts f = Facts("t08_burglary_self_referral");
    f.clear_cohort_flags();
    for (v1::CohortFlag flag : c.flags) f.add_cohort_flags(flag);
    f.set_victim_age(c.age);
    v1::ReferralTriaged d = Decide(DefaultPolicy(), f, VictimHistory());
    SCOPED_TRACE(absl::StrCat(c.flags.size(), " flags, aged ", c.age));
    EXPECT_THAT(std::vector<std::string>(d.preferred_specialisms().begin(),
                                         d.preferred_specialisms().end()),
                ElementsAreArray(c.want));
    std::string said;
    for (const auto& r : d.reasons()) {
      if (r.rule_id() == "SPECIALISM") said = r.reason();
    }
    if (c.want.empty()) {
      EXPECT_EQ(said, "");
    } else {
      EXPECT_EQ(said, absl::StrCat("advocate specialisms preferred: ",
                                   absl::StrJoin(c.want, ", ")));
    }
  }
}

// Every version carries the victim's coded safe-contact rules as the facts
// hold them: the first decision, an override, a withdrawal.
TEST(ContactRulesTest, EveryDecisionCarriesTheFactsContactRules) {
  v1::ReferralFacts f = Facts("t01_strangulation_punjabi");
  ASSERT_TRUE(f.contact_rules().recorded());
  f.mutable_contact_rules()->set_voicemail_safe(true);
  f.mutable_contact_rules()->set_has_safe_address(true);
  const std::string want = f.contact_rules().SerializeAsString();
  EXPECT_EQ(Decide(DefaultPolicy(), f, {}).contact_rules().SerializeAsString(),
            want);
  RiskOverride over{v1::RISK_LEVEL_HIGH, "pc-1234"};
  EXPECT_EQ(
      Decide(DefaultPolicy(), f, {}, &over).contact_rules().SerializeAsString(),
      want);
  f.set_withdrawn(v1::WITHDRAWAL_REASON_CONSENT_WITHDRAWN);
  EXPECT_EQ(Decide(DefaultPolicy(), f, {}).contact_rules().SerializeAsString(),
            want);
  // Facts from before the rules were coded: nothing recorded, nothing made
  // up.
  v1::ReferralFacts old = Facts("t02_standard_da");
  old.clear_contact_rules();
  EXPECT_FALSE(Decide(DefaultPolicy(), old, {}).has_contact_rules());
}

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
  v1::ReferralTriaged d = DecideExample("t10_bereaved_rj");
  EXPECT_TRUE(d.rj_awaiting_consent());
  EXPECT_THAT(Rules(d), ::testing::Not(::testing::Contains("GENERAL")));
}

// RJ by both parties' consent: the pathway only when both are given.
TEST(RestorativeJusticeTest, PathwayOnlyWithBothConsentsGiven) {
  using S = v1::ConsentStatus;
  const S kGiven = v1::CONSENT_STATUS_GIVEN;
  const S kAsked = v1::CONSENT_STATUS_NOT_YET_ASKED;
  const S kUnset = v1::CONSENT_STATUS_UNSPECIFIED;
  const S kRefused = v1::CONSENT_STATUS_REFUSED;
  const S kWithdrawn = v1::CONSENT_STATUS_WITHDRAWN;
  struct Case {
    S victim, offender;
    bool pathway, awaiting;
    std::string reason_has;
  };
  const std::vector<Case> cases = {
      {kGiven, kGiven, true, false, "victim and offender consent given"},
      {kGiven, kAsked, false, true, "waiting for offender consent"},
      {kUnset, kGiven, false, true, "waiting for victim consent"},
      {kAsked, kAsked, false, true, "waiting for victim and offender"},
      {kGiven, kRefused, false, false, "stopped: offender consent refused"},
      {kWithdrawn, kGiven, false, false, "stopped: victim consent withdrawn"},
      {kWithdrawn, kRefused, false, false,
       "victim consent withdrawn and offender consent refused"},
  };
  for (const Case& c : cases) {
    v1::ReferralFacts f = Facts("t10_bereaved_rj");
    f.mutable_consent()->set_rj_victim_consent(c.victim);
    f.mutable_consent()->set_rj_offender_consent(c.offender);
    v1::ReferralTriaged d = Decide(DefaultPolicy(), f, VictimHistory());
    SCOPED_TRACE(absl::StrCat(v1::ConsentStatus_Name(c.victim), "/",
                              v1::ConsentStatus_Name(c.offender)));
    EXPECT_EQ(std::count(d.pathways().begin(), d.pathways().end(),
                         v1::PATHWAY_RESTORATIVE_JUSTICE),
              c.pathway ? 1 : 0);
    EXPECT_EQ(d.rj_awaiting_consent(), c.awaiting);
    bool said = false;
    for (const auto& r : d.reasons()) {
      said |= r.rule_id() == "RJ" &&
              r.reason().find(c.reason_has) != std::string::npos;
    }
    EXPECT_TRUE(said) << "no RJ reason with '" << c.reason_has << "'";
  }
}

TEST(ConsentRulesTest, WithdrawnReferralKeepsOnlyMaracOnItsLegalBasis) {
  v1::ReferralFacts f = Facts("t01_strangulation_punjabi");
  v1::ReferralTriaged before = Decide(DefaultPolicy(), f, VictimHistory());
  ASSERT_TRUE(before.marac());
  ASSERT_FALSE(before.pathways().empty());
  ASSERT_EQ(before.legal_basis(), "");  // consent was given
  f.set_withdrawn(v1::WITHDRAWAL_REASON_CONSENT_WITHDRAWN);
  v1::ReferralTriaged d = Decide(DefaultPolicy(), f, VictimHistory());
  EXPECT_EQ(d.status(), v1::REFERRAL_STATUS_WITHDRAWN);
  EXPECT_TRUE(d.pathways().empty());
  EXPECT_TRUE(d.marac());
  EXPECT_EQ(d.legal_basis(), "DPA2018-SCH1-PARA18");
  EXPECT_THAT(Rules(d), ::testing::Contains("WITHDRAWN"));
  EXPECT_EQ(d.risk(), before.risk());
}

v1::ReferralFacts DaWithScore(int score);  // below, with the thresholds

// Every withdrawal reason on a MARAC referral (t01, and a repeat MARAC):
// the victim's choice keeps MARAC on its legal basis; a referral that should
// never have been shared (erased, entered in error, duplicate) leaves MARAC.
TEST(ConsentRulesTest, WithdrawalReasonDecidesWhetherMaracContinues) {
  struct Case {
    v1::WithdrawalReason reason;
    bool marac;
    std::string legal_basis;
    std::string reason_has;
  };
  const std::vector<Case> cases = {
      {v1::WITHDRAWAL_REASON_CONSENT_WITHDRAWN, true, "DPA2018-SCH1-PARA18",
       "MARAC proceeds on legal basis DPA2018-SCH1-PARA18"},
      {v1::WITHDRAWAL_REASON_VICTIM_DECLINED, true, "DPA2018-SCH1-PARA18",
       "MARAC proceeds on legal basis DPA2018-SCH1-PARA18"},
      {v1::WITHDRAWAL_REASON_OTHER, true, "DPA2018-SCH1-PARA18",
       "MARAC proceeds on legal basis DPA2018-SCH1-PARA18"},
      {v1::WITHDRAWAL_REASON_ERASED, false, "", "(erased)"},
      {v1::WITHDRAWAL_REASON_ENTERED_IN_ERROR, false, "", "(entered_in_error)"},
      {v1::WITHDRAWAL_REASON_DUPLICATE, false, "", "(duplicate)"},
  };
  const v1::ReferralFacts t1 = Facts("t01_strangulation_punjabi");
  // A DASH 5 referral that goes to MARAC only as a repeat.
  const v1::ReferralFacts repeat = DaWithScore(5);
  const VictimHistory repeat_history{
      absl::FromUnixSeconds(repeat.report_time().seconds()) -
      absl::Hours(24) * 100};
  for (const Case& c : cases) {
    SCOPED_TRACE(v1::WithdrawalReason_Name(c.reason));
    for (const auto& [facts, history] :
         {std::pair(t1, VictimHistory()), std::pair(repeat, repeat_history)}) {
      v1::ReferralTriaged before = Decide(DefaultPolicy(), facts, history);
      ASSERT_TRUE(before.marac());
      v1::ReferralFacts f = facts;
      f.set_withdrawn(c.reason);
      v1::ReferralTriaged d = Decide(DefaultPolicy(), f, history);
      EXPECT_EQ(d.status(), v1::REFERRAL_STATUS_WITHDRAWN);
      EXPECT_TRUE(d.pathways().empty());
      EXPECT_EQ(d.marac(), c.marac);
      EXPECT_EQ(d.legal_basis(), c.legal_basis);
      if (!c.marac) {
        EXPECT_FALSE(d.repeat_marac());
      }
      // Risk and the statutory considerations stand either way.
      EXPECT_EQ(d.risk(), before.risk());
      EXPECT_EQ(d.considerations_size(), before.considerations_size());
      int withdrawn_reasons = 0;
      for (const auto& r : d.reasons()) {
        if (r.rule_id() != "WITHDRAWN") continue;
        ++withdrawn_reasons;
        EXPECT_NE(r.reason().find(c.reason_has), std::string::npos)
            << r.reason();
        EXPECT_EQ(r.reason().find("leaves MARAC") != std::string::npos,
                  !c.marac)
            << r.reason();
      }
      EXPECT_EQ(withdrawn_reasons, 1);
    }
  }
}

TEST(ConsentRulesTest, WithdrawalWithoutMaracSaysNothingAboutMarac) {
  v1::ReferralFacts f = DaWithScore(5);
  for (v1::WithdrawalReason reason : {v1::WITHDRAWAL_REASON_CONSENT_WITHDRAWN,
                                      v1::WITHDRAWAL_REASON_DUPLICATE}) {
    f.set_withdrawn(reason);
    v1::ReferralTriaged d = Decide(DefaultPolicy(), f, VictimHistory());
    EXPECT_FALSE(d.marac());
    EXPECT_EQ(d.legal_basis(), "");
    for (const auto& r : d.reasons()) {
      if (r.rule_id() == "WITHDRAWN") {
        EXPECT_EQ(r.reason().find("MARAC"), std::string::npos) << r.reason();
      }
    }
  }
}

TEST(ConsentRulesTest, WithdrawnReferralRefusesPractitionerChanges) {
  v1::ReferralFacts f = Facts("t02_standard_da");
  EXPECT_TRUE(RequireNotWithdrawn(f).ok());
  for (int r = v1::WITHDRAWAL_REASON_CONSENT_WITHDRAWN;
       r <= v1::WITHDRAWAL_REASON_ERASED; ++r) {
    f.set_withdrawn(static_cast<v1::WithdrawalReason>(r));
    absl::Status s = RequireNotWithdrawn(f);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << r;
    auto rule = errors::RuleViolationOf(s);
    ASSERT_TRUE(rule.has_value()) << s;
    EXPECT_EQ(rule->rule_id, "REFERRAL-WITHDRAWN");
  }
}

TEST(ConsentRulesTest, RefusedPathwayConsentRemovesThatPathwayOnly) {
  v1::ReferralFacts f = Facts("t01_strangulation_punjabi");
  ASSERT_THAT(
      Pathways(Decide(DefaultPolicy(), f, VictimHistory())),
      ElementsAreArray({v1::PATHWAY_IDVA, v1::PATHWAY_PERPETRATOR_PROGRAMME}));
  v1::PathwayConsent* pc = f.mutable_consent()->add_pathway_consents();
  pc->set_pathway(v1::PATHWAY_PERPETRATOR_PROGRAMME);
  pc->set_status(v1::CONSENT_STATUS_REFUSED);
  v1::ReferralTriaged d = Decide(DefaultPolicy(), f, VictimHistory());
  EXPECT_THAT(Pathways(d), ElementsAreArray({v1::PATHWAY_IDVA}));
  EXPECT_THAT(Rules(d), ::testing::Contains("CONSENT-PATHWAY"));
  // Consent to a pathway the decision does not have changes nothing.
  pc->set_pathway(v1::PATHWAY_ISVA);
  EXPECT_THAT(Rules(Decide(DefaultPolicy(), f, VictimHistory())),
              ::testing::Not(::testing::Contains("CONSENT-PATHWAY")));
}

TEST(ConsentRulesTest, DeclinedGeneralSupportIsNotOfferedAnyway) {
  v1::ReferralFacts f;
  f.add_harm_types(v1::HARM_TYPE_OTHER_CRIME);
  f.set_victim_age(40);
  f.set_language("en");
  f.mutable_report_time()->set_seconds(1717405200);
  f.mutable_consent()->set_referral_consent(v1::CONSENT_STATUS_GIVEN);
  ASSERT_THAT(Pathways(Decide(DefaultPolicy(), f, VictimHistory())),
              ElementsAreArray({v1::PATHWAY_GENERAL_SUPPORT}));
  v1::PathwayConsent* pc = f.mutable_consent()->add_pathway_consents();
  pc->set_pathway(v1::PATHWAY_GENERAL_SUPPORT);
  pc->set_status(v1::CONSENT_STATUS_WITHDRAWN);
  EXPECT_TRUE(Decide(DefaultPolicy(), f, VictimHistory()).pathways().empty());
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
    v1::ReferralTriaged d = Decide(DefaultPolicy(), DaWithScore(row.score), {});
    EXPECT_EQ(d.dash_score(), row.score);
    EXPECT_EQ(d.risk(), row.risk) << row.score;
    EXPECT_EQ(d.marac(), row.marac) << row.score;
  }
}

TEST(ThresholdTest, AreaMaracThresholdOf17SeparatesIdvaFromMarac) {
  const Policy& cambridgeshire = Marac17Policy();
  v1::ReferralTriaged d16 = Decide(cambridgeshire, DaWithScore(16), {});
  EXPECT_EQ(d16.risk(), v1::RISK_LEVEL_HIGH);
  EXPECT_FALSE(d16.marac());
  EXPECT_THAT(Pathways(d16), ::testing::Contains(v1::PATHWAY_IDVA));
  v1::ReferralTriaged d17 = Decide(cambridgeshire, DaWithScore(17), {});
  EXPECT_TRUE(d17.marac());
  EXPECT_EQ(d17.policy_version(), "example-cambridgeshire/2024.1");
  // Under the default policy, 16 goes to MARAC.
  EXPECT_TRUE(Decide(DefaultPolicy(), DaWithScore(16), {}).marac());
}

TEST(ThresholdTest, AreaWithoutStalkingClinicRecordsItInsteadOfRouting) {
  v1::ReferralTriaged d =
      Decide(Marac17Policy(), Facts("t06_stalking_former_partner"), {});
  EXPECT_THAT(Pathways(d), ElementsAreArray({v1::PATHWAY_ISAC}));
  bool recorded = false;
  for (const auto& r : d.reasons()) {
    recorded |= r.rule_id() == "STALK-HIGH" &&
                r.reason().find("STALKING_CLINIC is not available") !=
                    std::string::npos;
  }
  EXPECT_TRUE(recorded);
}

TEST(ThresholdTest, EscalationAtTwoAndThreeIncidents) {
  v1::ReferralFacts f = DaWithScore(5);
  f.mutable_assessment()->set_incidents_last_12_months(2);
  EXPECT_FALSE(Decide(DefaultPolicy(), f, {}).marac());
  f.mutable_assessment()->set_incidents_last_12_months(3);
  v1::ReferralTriaged d = Decide(DefaultPolicy(), f, {});
  EXPECT_TRUE(d.marac());
  EXPECT_EQ(d.risk(), v1::RISK_LEVEL_HIGH);
}

TEST(ThresholdTest, RepeatMaracAt364And365ButNot366Days) {
  v1::ReferralFacts f = DaWithScore(5);
  absl::Time incident = absl::FromUnixSeconds(f.report_time().seconds());
  for (int days : {364, 365, 366}) {
    VictimHistory h{incident - absl::Hours(24) * days};
    v1::ReferralTriaged d = Decide(DefaultPolicy(), f, h);
    EXPECT_EQ(d.marac(), days <= 365) << days;
    EXPECT_EQ(d.repeat_marac(), days <= 365) << days;
  }
}

TEST(ThresholdTest, SarcWindowIsSevenDays) {
  v1::ReferralFacts f = Facts("t04_recent_rape_ae");
  int64_t report = f.report_time().seconds();
  f.mutable_offence_time()->set_seconds(report - 7 * 86400);
  EXPECT_EQ(Decide(DefaultPolicy(), f, {}).priority(), v1::PRIORITY_URGENT);
  f.mutable_offence_time()->set_seconds(report - 8 * 86400);
  v1::ReferralTriaged d = Decide(DefaultPolicy(), f, {});
  EXPECT_EQ(d.priority(), v1::PRIORITY_STANDARD);
  EXPECT_THAT(Pathways(d), ElementsAreArray({v1::PATHWAY_ISVA}));
}

TEST(ThresholdTest, StalkingHighAtSdashSixNotFive) {
  v1::ReferralFacts f = Facts("t06_stalking_former_partner");
  auto* sdash = f.mutable_assessment()->mutable_sdash_answers();
  for (int i = 0; i < 11; ++i) sdash->Set(i, i < 5);
  EXPECT_EQ(Decide(DefaultPolicy(), f, {}).risk(), v1::RISK_LEVEL_STANDARD);
  sdash->Set(5, true);
  EXPECT_EQ(Decide(DefaultPolicy(), f, {}).risk(), v1::RISK_LEVEL_HIGH);
}

TEST(PropertyTest, ProfessionalJudgementNeverLowersAndEveryDecisionCitesARule) {
  for (int score = 0; score <= 24; ++score) {
    v1::ReferralFacts f = DaWithScore(score);
    v1::ReferralTriaged without = Decide(DefaultPolicy(), f, {});
    f.mutable_assessment()->add_pj_flags(
        v1::PROFESSIONAL_JUDGEMENT_FLAG_THREATS_TO_KILL);
    v1::ReferralTriaged with = Decide(DefaultPolicy(), f, {});
    EXPECT_GE(with.risk(), without.risk());
    EXPECT_TRUE(with.marac() || !without.marac());
    EXPECT_GT(without.reasons_size(), 0);
    EXPECT_GT(with.reasons_size(), 0);
  }
}

// Deadlines as scenarios.md gives them (report Mon 3 June 2024 10:00 BST).
std::map<std::string, std::string> DeadlinesOf(const v1::ReferralTriaged& d) {
  absl::TimeZone london;
  absl::LoadTimeZone("Europe/London", &london);
  std::map<std::string, std::string> out;
  for (const auto& dl : d.deadlines()) {
    std::string key = dl.kind();
    if (dl.pathway() != v1::PATHWAY_UNSPECIFIED) {
      absl::StrAppend(&key, "/", v1::Pathway_Name(dl.pathway()));
    }
    out[key] = absl::StrCat(
        absl::FormatTime("%a %Y-%m-%d %H:%M:%S",
                         absl::FromUnixSeconds(dl.due().seconds()), london),
        " ", dl.rule_id());
  }
  return out;
}

TEST(DeadlineTest, ScenarioDeadlines) {
  using M = std::map<std::string, std::string>;
  // One first-contact deadline per pathway, each with its rule.
  EXPECT_EQ(
      DeadlinesOf(DecideExample("t01_strangulation_punjabi")),
      (M{{"FIRST_CONTACT/PATHWAY_IDVA",
          "Tue 2024-06-04 23:59:59 SLA-HIGH-CONTACT"},
         {"FIRST_CONTACT/PATHWAY_PERPETRATOR_PROGRAMME",
          "Tue 2024-06-04 23:59:59 SLA-HIGH-CONTACT"},
         {"VCOP_REFERRAL", "Wed 2024-06-05 23:59:59 SLA-VCOP-REFERRAL"}}));
  EXPECT_EQ(DeadlinesOf(DecideExample(
                "t02_standard_da"))["FIRST_CONTACT/PATHWAY_DA_OUTREACH"],
            "Mon 2024-06-10 23:59:59 SLA-STANDARD-CONTACT");
  // A recent rape: the SARC counts calendar hours, the ISVA working days.
  M t4 = DeadlinesOf(DecideExample("t04_recent_rape_ae"));
  EXPECT_EQ(t4["FIRST_CONTACT/PATHWAY_ISVA"],
            "Tue 2024-06-04 23:59:59 SLA-SV-CONTACT");
  EXPECT_EQ(t4["FIRST_CONTACT/PATHWAY_SARC"],
            "Tue 2024-06-04 10:00:00 SLA-SARC-CONTACT");
  M t8 = DeadlinesOf(DecideExample("t08_burglary_self_referral"));
  EXPECT_EQ(t8, (M{{"FIRST_CONTACT/PATHWAY_GENERAL_SUPPORT",
                    "Mon 2024-06-10 23:59:59 SLA-STANDARD-CONTACT"}}));
  EXPECT_EQ(DecideExample("t01_strangulation_punjabi").updates_working_days(),
            1);
  EXPECT_EQ(DecideExample("t08_burglary_self_referral").updates_working_days(),
            5);
}

// Issue 12's clocks: a recent rape reported before a bank-holiday weekend.
TEST(DeadlineTest, SarcCountsCalendarHoursAndIsvaWorkingDays) {
  struct Case {
    const char* report;  // local time, Europe/London
    const char* sarc;
    const char* isva;
  };
  const Case cases[] = {
      // Monday 6 May 2024 is a bank holiday.
      {"2024-05-04 21:00", "Sun 2024-05-05 21:00:00 SLA-SARC-CONTACT",
       "Tue 2024-05-07 23:59:59 SLA-SV-CONTACT"},
      // Monday 26 August 2024 is a bank holiday.
      {"2024-08-23 16:00", "Sat 2024-08-24 16:00:00 SLA-SARC-CONTACT",
       "Tue 2024-08-27 23:59:59 SLA-SV-CONTACT"},
      // Boundaries: one minute before midnight, and across the clocks going
      // forward (Sunday 31 March 2024 01:00 GMT): 24 hours of elapsed time;
      // the ISVA skips Easter Monday.
      {"2024-06-03 23:59", "Tue 2024-06-04 23:59:00 SLA-SARC-CONTACT",
       "Tue 2024-06-04 23:59:59 SLA-SV-CONTACT"},
      {"2024-03-30 12:00", "Sun 2024-03-31 13:00:00 SLA-SARC-CONTACT",
       "Tue 2024-04-02 23:59:59 SLA-SV-CONTACT"},  // Easter Monday
  };
  absl::TimeZone london;
  ASSERT_TRUE(absl::LoadTimeZone("Europe/London", &london));
  for (const Case& c : cases) {
    v1::ReferralFacts f = Facts("t04_recent_rape_ae");
    absl::Time report;
    std::string error;
    ASSERT_TRUE(
        absl::ParseTime("%Y-%m-%d %H:%M", c.report, london, &report, &error))
        << error;
    *f.mutable_report_time() = timeutil::ToTimestamp(report);
    *f.mutable_offence_time() = timeutil::ToTimestamp(report - absl::Hours(2));
    std::map<std::string, std::string> got =
        DeadlinesOf(Decide(DefaultPolicy(), f, VictimHistory()));
    EXPECT_EQ(got["FIRST_CONTACT/PATHWAY_SARC"], c.sarc) << c.report;
    EXPECT_EQ(got["FIRST_CONTACT/PATHWAY_ISVA"], c.isva) << c.report;
  }
}

TEST(DeadlineTest, ReportOutsideTheCalendarIsIncompleteNotACrash) {
  v1::ReferralFacts f = Facts("t02_standard_da");
  f.mutable_report_time()->set_seconds(1956528000);  // 2032
  v1::ReferralTriaged d = Decide(DefaultPolicy(), f, {});
  EXPECT_TRUE(d.incomplete());
  EXPECT_EQ(d.deadlines_size(), 0);
  ASSERT_EQ(d.missing_size(), 1);
  EXPECT_NE(d.missing(0).find("covers 2023-2030"), std::string::npos)
      << d.missing(0);
}

TEST(IncompleteTest, DomesticAbuseWithoutDashIsIncompleteNotStandard) {
  v1::ReferralFacts f = Facts("t02_standard_da");
  f.mutable_assessment()->clear_dash_answers();
  v1::ReferralTriaged d = Decide(DefaultPolicy(), f, {});
  EXPECT_EQ(d.status(), v1::REFERRAL_STATUS_ASSESSMENT_INCOMPLETE);
  EXPECT_EQ(d.risk(), v1::RISK_LEVEL_UNSPECIFIED);
  EXPECT_TRUE(d.incomplete());
  EXPECT_THAT(d.missing(), ::testing::ElementsAre("assessment.dash_answers"));
  EXPECT_THAT(Pathways(d),
              ::testing::Not(::testing::Contains(v1::PATHWAY_DA_OUTREACH)));
  EXPECT_THAT(Pathways(d),
              ::testing::Not(::testing::Contains(v1::PATHWAY_GENERAL_SUPPORT)));
}

TEST(IncompleteTest, ContradictoryIncidentCountIsNamed) {
  v1::ReferralFacts f = Facts("t02_standard_da");
  f.mutable_assessment()->set_incidents_last_12_months(0);
  v1::ReferralTriaged d = Decide(DefaultPolicy(), f, {});
  EXPECT_TRUE(d.incomplete());
  ASSERT_EQ(d.missing_size(), 1);
  EXPECT_NE(d.missing(0).find("incidents_last_12_months"), std::string::npos);
  EXPECT_EQ(d.risk(), v1::RISK_LEVEL_STANDARD);  // the DASH still bands it
}

TEST(IncompleteTest, MissingDashButEscalationStillGoesToMarac) {
  v1::ReferralFacts f = Facts("t03_escalation");
  f.mutable_assessment()->clear_dash_answers();
  v1::ReferralTriaged d = Decide(DefaultPolicy(), f, {});
  EXPECT_TRUE(d.marac());
  EXPECT_EQ(d.risk(), v1::RISK_LEVEL_HIGH);
  EXPECT_EQ(d.status(), v1::REFERRAL_STATUS_ROUTED);
  EXPECT_THAT(d.missing(), ::testing::ElementsAre("assessment.dash_answers"));
}

TEST(IncompleteTest,
     StalkingWithoutSdashAndSexualViolenceWithoutOffenceDateAreNamed) {
  v1::ReferralFacts stalk = Facts("t06_stalking_former_partner");
  stalk.mutable_assessment()->clear_sdash_answers();
  v1::ReferralTriaged d = Decide(DefaultPolicy(), stalk, {});
  EXPECT_THAT(d.missing(), ::testing::ElementsAre("assessment.sdash_answers"));
  EXPECT_NE(d.risk(), v1::RISK_LEVEL_STANDARD);
  EXPECT_THAT(Pathways(d), ::testing::Contains(v1::PATHWAY_ISAC));

  v1::ReferralFacts sv = Facts("t04_recent_rape_ae");
  sv.clear_offence_time();
  v1::ReferralTriaged d2 = Decide(DefaultPolicy(), sv, {});
  EXPECT_THAT(d2.missing(), ::testing::ElementsAre("reporting.offence_time"));
  EXPECT_THAT(Pathways(d2), ElementsAreArray({v1::PATHWAY_ISVA}));
}

TEST(PolicyRulesTest, AreaCanSwitchOffALocalRule) {
  auto base = LoadShippedPolicy("default.textproto");
  v1::TriagePolicy config = base->config();
  config.add_disabled_rules("PERP-STANDARD");
  auto policy =
      Policy::Create(config, std::shared_ptr<const calendar::WorkingCalendar>(
                                 base, &base->calendar()));
  ASSERT_TRUE(policy.ok()) << policy.status();
  v1::ReferralTriaged d = Decide(**policy, Facts("t02_standard_da"), {});
  EXPECT_THAT(Pathways(d), ElementsAreArray({v1::PATHWAY_DA_OUTREACH}));
  EXPECT_THAT(Rules(d), ::testing::Not(::testing::Contains("PERP-STANDARD")));
}

TEST(OverrideTest, PractitionerOverrideToHighSendsDomesticAbuseToMarac) {
  RiskOverride over{v1::RISK_LEVEL_HIGH, "pc-1234"};
  v1::ReferralTriaged d =
      Decide(DefaultPolicy(), Facts("t02_standard_da"), {}, &over);
  EXPECT_EQ(d.risk(), v1::RISK_LEVEL_HIGH);
  EXPECT_TRUE(d.marac());
  EXPECT_THAT(Rules(d), IsSupersetOf({"PJ-RAISE", "MARAC-PJ", "DA-HIGH"}));
}

// PJ-RAISE for overrides: every (current, requested) pair; only a request
// below the current risk is refused, and the override in force never falls.
TEST(OverrideTest, PjRaiseRefusesOnlyAnOverrideBelowTheCurrentRisk) {
  const std::vector<v1::RiskLevel> levels = {
      v1::RISK_LEVEL_STANDARD, v1::RISK_LEVEL_MEDIUM, v1::RISK_LEVEL_HIGH};
  for (v1::RiskLevel current : levels) {
    for (v1::RiskLevel in_force :
         {v1::RISK_LEVEL_UNSPECIFIED, v1::RISK_LEVEL_STANDARD,
          v1::RISK_LEVEL_MEDIUM}) {
      for (v1::RiskLevel requested : levels) {
        SCOPED_TRACE(absl::StrCat(v1::RiskLevel_Name(current), " ",
                                  v1::RiskLevel_Name(in_force), " -> ",
                                  v1::RiskLevel_Name(requested)));
        v1::ReferralTriaged decision;
        decision.set_risk(current);
        absl::StatusOr<RiskOverride> over = ApplyOverride(
            decision, RiskOverride{in_force, "pc-1"}, requested, "sgt-42");
        if (requested < current) {
          EXPECT_EQ(over.status().code(),
                    absl::StatusCode::kFailedPrecondition);
          std::optional<errors::RuleViolationDetail> rule =
              errors::RuleViolationOf(over.status());
          ASSERT_TRUE(rule.has_value());
          EXPECT_EQ(rule->rule_id, "PJ-RAISE");
          EXPECT_EQ(rule->subject, "risk");
        } else {
          ASSERT_TRUE(over.ok()) << over.status();
          EXPECT_EQ(over->risk, std::max(requested, in_force));
          EXPECT_EQ(over->practitioner_id, "sgt-42");
        }
      }
    }
  }
}

TEST(OverrideTest, PjRaiseRefusalNamesTheRuleBehindTheCurrentRisk) {
  v1::ReferralTriaged d =
      Decide(DefaultPolicy(), Facts("t09_high_risk_consent_refused"), {});
  ASSERT_EQ(d.risk(), v1::RISK_LEVEL_HIGH);
  absl::StatusOr<RiskOverride> over =
      ApplyOverride(d, RiskOverride(), v1::RISK_LEVEL_MEDIUM, "sgt-42");
  std::optional<errors::RuleViolationDetail> rule =
      errors::RuleViolationOf(over.status());
  ASSERT_TRUE(rule.has_value());
  EXPECT_EQ(rule->description,
            "professional judgement only raises risk; the current risk is "
            "HIGH (DASH-SCORE: DASH score 16 >= high threshold 14) and "
            "cannot be lowered to MEDIUM");
}

// Generated referrals: judgement and incidents never lower risk or remove
// MARAC; every decision cites a rule; every pathway is one the policy allows.
TEST(PropertyTest, GeneratedReferralsKeepTheInvariants) {
  std::mt19937 rng(20240603);
  const std::vector<v1::HarmType> harms = {
      v1::HARM_TYPE_DOMESTIC_ABUSE,
      v1::HARM_TYPE_SEXUAL_VIOLENCE,
      v1::HARM_TYPE_STALKING,
      v1::HARM_TYPE_HATE_CRIME,
      v1::HARM_TYPE_CHILD_SEXUAL_ABUSE_NON_RECENT,
      v1::HARM_TYPE_OTHER_VIOLENCE,
      v1::HARM_TYPE_OTHER_CRIME,
      v1::HARM_TYPE_BEREAVEMENT,
      v1::HARM_TYPE_MODERN_SLAVERY};
  for (const Policy* policy : {&DefaultPolicy(), &Marac17Policy()}) {
    for (int n = 0; n < 3000; ++n) {
      v1::ReferralFacts f;
      f.add_harm_types(harms[rng() % harms.size()]);
      if (rng() % 3 == 0) f.add_harm_types(harms[rng() % harms.size()]);
      f.set_victim_age(static_cast<int>(rng() % 90));
      f.set_language(rng() % 4 == 0 ? "pl" : "en");
      f.set_persistently_targeted(rng() % 5 == 0);
      if (rng() % 6 == 0) f.add_cohort_flags(v1::COHORT_FLAG_SEX_WORKER);
      f.mutable_report_time()->set_seconds(1717405200 + (rng() % 2000) * 86400);
      if (rng() % 2)
        f.mutable_offence_time()->set_seconds(f.report_time().seconds() -
                                              (rng() % 20) * 86400);
      auto* a = f.mutable_assessment();
      if (rng() % 5 != 0) {
        for (int i = 0; i < 24; ++i) a->add_dash_answers(rng() % 2);
      }
      if (rng() % 2) {
        for (int i = 0; i < 11; ++i) a->add_sdash_answers(rng() % 2);
      }
      a->set_incidents_last_12_months(static_cast<int>(rng() % 5));
      f.mutable_consent()->set_referral_consent(
          rng() % 4 ? v1::CONSENT_STATUS_GIVEN : v1::CONSENT_STATUS_REFUSED);
      f.mutable_consent()->set_rj_requested(rng() % 7 == 0);
      if (rng() % 2) {
        f.mutable_perpetrator()->set_known(true);
        f.mutable_perpetrator()->set_age(static_cast<int>(14 + rng() % 50));
      }
      VictimHistory h;
      if (rng() % 4 == 0) {
        h.last_marac_referral =
            absl::FromUnixSeconds(f.report_time().seconds()) -
            absl::Hours(24) * static_cast<int>(rng() % 500);
      }
      v1::ReferralTriaged base = Decide(*policy, f, h);
      ASSERT_GT(base.reasons_size(), 0) << f.DebugString();
      for (int p : base.pathways()) {
        EXPECT_TRUE(policy->PathwayAvailable(static_cast<v1::Pathway>(p)))
            << f.DebugString();
      }
      v1::ReferralFacts with_pj = f;
      with_pj.mutable_assessment()->add_pj_flags(
          v1::PROFESSIONAL_JUDGEMENT_FLAG_VICTIM_VERY_FRIGHTENED);
      v1::ReferralTriaged pj = Decide(*policy, with_pj, h);
      EXPECT_GE(pj.risk(), base.risk()) << f.DebugString();
      EXPECT_TRUE(pj.marac() || !base.marac()) << f.DebugString();
      v1::ReferralFacts more = f;
      more.mutable_assessment()->set_incidents_last_12_months(
          f.assessment().incidents_last_12_months() + 1);
      v1::ReferralTriaged inc = Decide(*policy, more, h);
      EXPECT_GE(inc.risk(), base.risk()) << f.DebugString();
      EXPECT_TRUE(inc.marac() || !base.marac()) << f.DebugString();
      // Withdrawal stops every pathway and nothing else: MARAC and risk
      // stand, MARAC with its legal basis.
      v1::ReferralFacts withdrawn = f;
      withdrawn.set_withdrawn(v1::WITHDRAWAL_REASON_VICTIM_DECLINED);
      v1::ReferralTriaged w = Decide(*policy, withdrawn, h);
      EXPECT_EQ(w.status(), v1::REFERRAL_STATUS_WITHDRAWN);
      EXPECT_EQ(w.pathways_size(), 0) << f.DebugString();
      EXPECT_EQ(w.risk(), base.risk()) << f.DebugString();
      EXPECT_EQ(w.marac(), base.marac()) << f.DebugString();
      EXPECT_EQ(!w.legal_basis().empty(), w.marac()) << f.DebugString();
      // RJ goes ahead only with both consents (none are given here).
      EXPECT_EQ(std::count(base.pathways().begin(), base.pathways().end(),
                           v1::PATHWAY_RESTORATIVE_JUSTICE),
                0)
          << f.DebugString();
    }
  }
}

}  // namespace
}  // namespace signpost::triage
