// The figures builder: nearest-rank percentiles, rounded percentages,
// suppression below the threshold (value and base withheld), the request
// check naming every bad field, and who may see an area's figures.
#include "common/reporting/figures.h"

#include <string>
#include <vector>

#include "common/errors/errors.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost::reporting {
namespace {

using ::testing::ElementsAre;

TEST(NearestRankPercentileTest, PicksTheValueAtRankCeilPN) {
  struct Case {
    std::vector<double> values;
    double p;
    double expected;
  };
  const Case cases[] = {
      {{}, 50, 0},
      {{7}, 50, 7},
      {{7}, 90, 7},
      {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 50, 5},  // rank 5
      {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 90, 9},  // rank 9
      {{4, 1, 3, 2}, 50, 2},                     // unsorted; rank 2
      {{4, 1, 3, 2}, 90, 4},                     // rank ceil(3.6) = 4
      {{10, 20, 30, 40, 50}, 90, 50},            // rank ceil(4.5) = 5
      {{10, 20, 30, 40, 50}, 50, 30},            // rank ceil(2.5) = 3
  };
  for (const Case& c : cases) {
    EXPECT_EQ(NearestRankPercentile(c.values, c.p), c.expected)
        << "p" << c.p << " of " << c.values.size();
  }
}

TEST(PercentTest, RoundsToOneDecimalPlace) {
  EXPECT_DOUBLE_EQ(Percent(1, 3), 33.3);
  EXPECT_DOUBLE_EQ(Percent(2, 3), 66.7);
  EXPECT_DOUBLE_EQ(Percent(5, 11), 45.5);
  EXPECT_DOUBLE_EQ(Percent(5, 5), 100);
  EXPECT_DOUBLE_EQ(Percent(0, 0), 0);
}

TEST(FigureBuilderTest, CountsBelowTheThresholdAreWithheldWithTheirBase) {
  FigureBuilder b(5);
  b.Count("s", {{"k", "four"}}, "count", 4);
  b.Count("s", {{"k", "five"}}, "count", 5);
  b.Count("s", {}, "count", 0);
  std::vector<v1::Figure> f = b.Take();
  ASSERT_EQ(f.size(), 3u);
  EXPECT_TRUE(f[0].suppressed());
  EXPECT_EQ(f[0].value(), 0);
  EXPECT_EQ(f[0].base(), 0);
  EXPECT_EQ(f[0].labels().at("k"), "four");
  EXPECT_FALSE(f[1].suppressed());
  EXPECT_EQ(f[1].value(), 5);
  EXPECT_EQ(f[1].base(), 5);
  EXPECT_TRUE(f[2].suppressed());
}

TEST(FigureBuilderTest, PercentagesAndPercentilesFollowTheirBase) {
  FigureBuilder b(5);
  b.Percentage("d", {}, "met_percent", 3, 4);  // base 4: withheld
  b.Percentage("d", {}, "met_percent", 2, 6);  // 33.3 over 6
  b.MedianAndP90("t", {}, "", {1, 2, 3, 4});   // 4 cases: both withheld
  b.MedianAndP90("t", {}, "wait_", {5, 1, 4, 2, 3});
  std::vector<v1::Figure> f = b.Take();
  ASSERT_EQ(f.size(), 6u);
  EXPECT_TRUE(f[0].suppressed());
  EXPECT_DOUBLE_EQ(f[1].value(), 33.3);
  EXPECT_EQ(f[1].base(), 6);
  EXPECT_TRUE(f[2].suppressed());
  EXPECT_TRUE(f[3].suppressed());
  EXPECT_EQ(f[4].measure(), "wait_median_hours");
  EXPECT_EQ(f[4].value(), 3);
  EXPECT_EQ(f[5].measure(), "wait_p90_hours");
  EXPECT_EQ(f[5].value(), 5);
  EXPECT_EQ(f[5].base(), 5);
}

TEST(FigureBuilderTest, AHigherThresholdWithholdsMore) {
  FigureBuilder b(10);
  b.Count("s", {}, "count", 9);
  b.Count("s", {}, "count", 10);
  std::vector<v1::Figure> f = b.Take();
  EXPECT_TRUE(f[0].suppressed());
  EXPECT_FALSE(f[1].suppressed());
}

std::vector<std::string> Fields(const errors::FieldErrors& e) {
  std::vector<std::string> out;
  for (const auto& v : e.violations()) out.push_back(v.field);
  return out;
}

TEST(CheckFigureRequestTest, NamesEveryBadField) {
  const absl::Time t = absl::FromUnixSeconds(1717200000);
  EXPECT_THAT(Fields(CheckFigureRequest("", false, {}, false, {})),
              ElementsAre("area_code", "from", "to"));
  EXPECT_THAT(Fields(CheckFigureRequest("W M P", true, t, true, t)),
              ElementsAre("area_code", "to"));  // to == from
  EXPECT_THAT(Fields(CheckFigureRequest("WMP", true, t, true,
                                        t + absl::Hours(24 * 401))),
              ElementsAre("to"));
  EXPECT_TRUE(
      CheckFigureRequest("WMP", true, t, true, t + absl::Hours(24 * 400))
          .empty());
}

TEST(RequireFiguresAccessTest, CommissionersSeeTheirOwnAreasOnly) {
  EXPECT_TRUE(
      RequireFiguresAccess(testing::PrincipalOf("pcc-wmp"), "WMP").ok());
  absl::Status other =
      RequireFiguresAccess(testing::PrincipalOf("pcc-wyp"), "WMP");
  EXPECT_EQ(other.code(), absl::StatusCode::kPermissionDenied);
  ASSERT_TRUE(errors::RuleViolationOf(other).has_value());
  EXPECT_EQ(errors::RuleViolationOf(other)->rule_id, access::kRuleOwnArea);
  EXPECT_TRUE(
      RequireFiguresAccess(testing::PrincipalOf("signpost-operator"), "WMP")
          .ok());
  EXPECT_TRUE(
      RequireFiguresAccess(testing::PrincipalOf("signpost-auditor"), "GMP")
          .ok());
}

TEST(LabelsTextTest, SortsKeys) {
  v1::Figure f;
  (*f.mutable_labels())["source"] = "S";
  (*f.mutable_labels())["pathway"] = "P";
  EXPECT_EQ(LabelsText(f), "pathway=P;source=S");
  EXPECT_EQ(LabelsText(v1::Figure()), "");
}

}  // namespace
}  // namespace signpost::reporting
