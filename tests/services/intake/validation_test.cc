#include "services/intake/validation.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost::intake {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

const absl::Time kNow = absl::FromUnixSeconds(1717405200 + 3600);

std::vector<std::string> BadFields(const v1::SubmitReferralRequest& r) {
  std::vector<std::string> fields;
  errors::FieldErrors errors = ValidateSubmission(r, kNow);
  for (const auto& [field, description] : errors.violations()) {
    fields.push_back(field);
  }
  return fields;
}

TEST(ValidationTest, EveryExampleReferralIsValid) {
  for (const std::string& name : testing::ExampleNames()) {
    EXPECT_THAT(BadFields(testing::LoadExample(name)), ElementsAre()) << name;
  }
}

// kNow is 2024-06-03 (UTC).
TEST(ValidationTest, DatesOfBirthMustBeRealPastDays) {
  struct Case {
    std::string dob;
    bool valid;
  };
  const Case cases[] = {
      {"1990-05-17", true},  {"2024-06-03", true},  {"1900-01-01", true},
      {"2024-06-04", false},  // tomorrow
      {"2031-01-01", false},  // the future
      {"2023-02-29", false},  // not a leap year
      {"2024-02-30", false}, {"2024-13-01", false}, {"1899-12-31", false},
      {"1990-5-17", false},  {"17/05/1990", false}, {"1990-05-17T00", false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.dob);
    v1::SubmitReferralRequest r =
        testing::LoadExample("t01_strangulation_punjabi");
    r.mutable_referral()->mutable_personal()->set_date_of_birth(c.dob);
    if (c.valid) {
      EXPECT_THAT(BadFields(r), ElementsAre());
    } else {
      EXPECT_THAT(BadFields(r), ElementsAre("referral.personal.date_of_birth"));
    }
  }
}

TEST(ValidationTest, ControlCharactersInNamesAndTextAreRefused) {
  v1::SubmitReferralRequest r =
      testing::LoadExample("t01_strangulation_punjabi");
  auto* pd = r.mutable_referral()->mutable_personal();
  pd->set_full_name(std::string("Example\x07Person", 14));
  pd->set_address("1 Example Street\nExampletown\x1b[2J");
  pd->set_narrative(std::string("Line one\nLine two\twith a tab\x00", 29));
  r.mutable_referral()->mutable_safe_contact()->set_safe_times(
      "mornings\u0085");
  EXPECT_THAT(BadFields(r),
              UnorderedElementsAre("referral.personal.full_name",
                                   "referral.personal.address",
                                   "referral.personal.narrative",
                                   "referral.safe_contact.safe_times"));
  // Line breaks (and, in the narrative, tabs) are text, not controls.
  pd->set_full_name("Example Person");
  pd->set_address("1 Example Street\nExampletown");
  pd->set_narrative("Line one\r\nLine two\twith a tab");
  r.mutable_referral()->mutable_safe_contact()->set_safe_times("mornings");
  EXPECT_THAT(BadFields(r), ElementsAre());
}

TEST(ValidationTest, EmptyRequestNamesKeyAndReferral) {
  EXPECT_THAT(BadFields(v1::SubmitReferralRequest()),
              UnorderedElementsAre("idempotency_key", "referral"));
}

TEST(ValidationTest, EveryBadFieldIsListedAtOnce) {
  v1::SubmitReferralRequest r =
      testing::LoadExample("t01_strangulation_punjabi");
  r.mutable_referral()->set_source(v1::REFERRAL_SOURCE_UNSPECIFIED);
  r.mutable_referral()->mutable_victim()->set_age(-1);
  r.mutable_referral()
      ->mutable_assessment()
      ->mutable_dash_answers()
      ->RemoveLast();
  r.mutable_referral()->add_harm_types(static_cast<v1::HarmType>(99));
  r.mutable_referral()->mutable_consent()->clear_referral_consent();
  r.mutable_referral()->mutable_reporting()->clear_report_time();
  EXPECT_THAT(BadFields(r),
              UnorderedElementsAre("referral.source", "referral.victim.age",
                                   "referral.assessment.dash_answers",
                                   "referral.harm_types[1]",
                                   "referral.consent.referral_consent",
                                   "referral.reporting.report_time"));
}

TEST(ValidationTest, DashNeedsExactly24AnswersOrNone) {
  v1::SubmitReferralRequest r = testing::LoadExample("t02_standard_da");
  r.mutable_referral()->mutable_assessment()->add_dash_answers(true);
  EXPECT_THAT(BadFields(r), ElementsAre("referral.assessment.dash_answers"));
  r.mutable_referral()->mutable_assessment()->clear_dash_answers();
  EXPECT_THAT(BadFields(r), ElementsAre());
}

TEST(ValidationTest, ContradictionsAreRefused) {
  v1::SubmitReferralRequest r = testing::LoadExample("t04_recent_rape_ae");
  auto* rep = r.mutable_referral()->mutable_reporting();
  rep->mutable_offence_time()->set_seconds(rep->report_time().seconds() + 60);
  rep->set_reported_to_police(false);
  EXPECT_THAT(BadFields(r),
              UnorderedElementsAre("referral.reporting.offence_time",
                                   "referral.reporting.crime_reference"));
}

TEST(ValidationTest, FutureReportTimeIsRefused) {
  v1::SubmitReferralRequest r =
      testing::LoadExample("t08_burglary_self_referral");
  r.mutable_referral()->mutable_reporting()->mutable_report_time()->set_seconds(
      absl::ToUnixSeconds(kNow + absl::Hours(1)));
  EXPECT_THAT(BadFields(r), ElementsAre("referral.reporting.report_time"));
}

TEST(ValidationTest, DescriptionsNeverEchoPersonalData) {
  v1::SubmitReferralRequest r =
      testing::LoadExample("t01_strangulation_punjabi");
  r.mutable_referral()->mutable_personal()->set_phone(
      "call 07700 900 at night");
  r.mutable_referral()->mutable_personal()->set_date_of_birth("17/02/1994");
  errors::FieldErrors errors = ValidateSubmission(r, kNow);
  ASSERT_EQ(errors.size(), 2u);
  std::string message(errors.ToStatus().message());
  EXPECT_EQ(message.find("07700"), std::string::npos);
  EXPECT_EQ(message.find("1994"), std::string::npos);
}

TEST(FactsTest, FactsCarryNoPersonalData) {
  v1::SubmitReferralRequest r =
      testing::LoadExample("t01_strangulation_punjabi");
  v1::ReferralFacts facts = ExtractFacts(r.referral());
  std::string bytes = facts.SerializeAsString();
  const v1::VictimPersonalData& pd = r.referral().personal();
  for (const std::string& secret :
       {pd.full_name(), pd.phone(), pd.narrative(),
        r.referral().safe_contact().safe_times(),
        r.referral().reporting().crime_reference()}) {
    ASSERT_FALSE(secret.empty());
    EXPECT_EQ(bytes.find(secret), std::string::npos) << secret;
  }
  EXPECT_TRUE(facts.has_crime_reference());
  EXPECT_EQ(facts.victim_age(), 30);
  EXPECT_EQ(facts.language(), "pa");
}

}  // namespace
}  // namespace signpost::intake
