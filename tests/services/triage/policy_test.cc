#include "services/triage/policy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/services/triage/policy_fixture.h"
#include "tests/support/test_support.h"

namespace signpost::triage {
namespace {

using ::testing::HasSubstr;

TEST(PolicyTest, ShippedPoliciesLoadWithTheirVersions) {
  EXPECT_EQ(DefaultPolicy().version(), "signpost-default/2024.1");
  EXPECT_EQ(DefaultPolicy().config().marac().threshold(), 14);
  EXPECT_EQ(Marac17Policy().config().marac().threshold(), 17);
  EXPECT_FALSE(Marac17Policy().PathwayAvailable(v1::PATHWAY_STALKING_CLINIC));
}

TEST(PolicyTest, BadPolicyNamesLineAndFieldOfEveryProblem) {
  std::string text =
      testing::ReadFile(testing::SourcePath("deploy/policy/default.textproto"));
  auto swap = [&text](const std::string& from, const std::string& to) {
    text.replace(text.find(from), from.size(), to);
  };
  swap("high_threshold: 14", "high_threshold: 30");
  swap("version: \"signpost-default/2024.1\"", "version: \"\"");
  text += "disabled_rules: \"CONSENT\"\ndisabled_rules: \"NO-SUCH-RULE\"\n";
  auto parsed = ParsePolicyText(text, "area.textproto");
  ASSERT_FALSE(parsed.ok());
  std::string msg(parsed.status().message());
  EXPECT_THAT(msg, HasSubstr("area.textproto: "));
  EXPECT_THAT(msg, HasSubstr("line 9: dash.high_threshold: 30, must be 1-24"));
  EXPECT_THAT(msg, HasSubstr("version: is required"));
  EXPECT_THAT(msg, HasSubstr("CONSENT follows national guidance or law"));
  EXPECT_THAT(msg, HasSubstr("unknown rule 'NO-SUCH-RULE'"));
}

TEST(PolicyTest, MissingParameterIsNamedNotDefaultedToZero) {
  std::string text =
      testing::ReadFile(testing::SourcePath("deploy/policy/default.textproto"));
  const std::string line = "sarc_window_days: 7";
  text.replace(text.find(line), line.size(), "");
  auto parsed = ParsePolicyText(text, "p");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(),
              HasSubstr("sarc_window_days: missing or 0"));
}

TEST(PolicyTest, SyntaxErrorNamesTheLine) {
  auto parsed = ParsePolicyText(
      "version: \"x\"\ndash { high_threshold: fourteen }\n", "p");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("p: line 2"));
}

TEST(PolicyTest, MediumMustBeBelowHigh) {
  v1::TriagePolicy config = DefaultPolicy().config();
  config.mutable_dash()->set_medium_threshold(14);
  std::vector<std::string> errors = CheckPolicy(config);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors[0], HasSubstr("dash.medium_threshold: must be below"));
}

TEST(PolicyTest, LoadingFailsForAMissingCalendarOrPolicyFile) {
  EXPECT_FALSE(
      LoadPolicy("/nonexistent.textproto",
                 testing::SourcePath("deploy/calendar/england-and-wales.txt"))
          .ok());
  auto no_calendar =
      LoadPolicy(testing::SourcePath("deploy/policy/default.textproto"),
                 "/nonexistent.txt");
  EXPECT_THAT(no_calendar.status().message(), HasSubstr("/nonexistent.txt"));
}

}  // namespace
}  // namespace signpost::triage
