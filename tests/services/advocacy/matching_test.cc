#include "services/advocacy/matching.h"

#include "gtest/gtest.h"

namespace signpost::advocacy {
namespace {

AdvocateView Idva(std::string id, std::vector<std::string> langs, int capacity,
                  int caseload = 0, int64_t last = 0) {
  AdvocateView a;
  a.advocate_id = std::move(id);
  a.provider_id = "p";
  a.role = v1::ADVOCATE_ROLE_IDVA;
  a.languages = std::move(langs);
  a.localities = {"L1"};
  a.capacity = capacity;
  a.caseload = caseload;
  a.last_assigned_ms = last;
  return a;
}

MatchRequest HighRiskDa(std::string language = "en", bool match = false) {
  MatchRequest r;
  r.pathway = v1::PATHWAY_IDVA;
  r.locality = "L1";
  r.language = std::move(language);
  r.language_match_required = match;
  r.now_ms = 1717405200000;
  return r;
}

TEST(MatchingTest, A1FirstPunjabiSpeakerGoesToBal) {
  std::vector<AdvocateView> roster = {Idva("ann", {"en"}, 2),
                                      Idva("bal", {"pa", "ur"}, 1)};
  MatchResult r = Match(HighRiskDa("pa", true), roster);
  ASSERT_TRUE(r.chosen);
  EXPECT_EQ(r.chosen->advocate_id, "bal");
  EXPECT_FALSE(r.interpreter);
}

TEST(MatchingTest,
     A1SecondPunjabiSpeakerGoesToAnnWithInterpreterWhenBalIsFull) {
  std::vector<AdvocateView> roster = {Idva("ann", {"en"}, 2),
                                      Idva("bal", {"pa", "ur"}, 1, 1)};
  MatchResult r = Match(HighRiskDa("pa", true), roster);
  ASSERT_TRUE(r.chosen);
  EXPECT_EQ(r.chosen->advocate_id, "ann");
  EXPECT_TRUE(r.interpreter);
}

TEST(MatchingTest, PreferenceOrderTable) {
  struct Row {
    std::string name;
    std::vector<AdvocateView> roster;
    MatchRequest request;
    std::string expected;  // "" = nobody
  };
  std::vector<Row> rows = {
      {"lowest load ratio wins",
       {Idva("a", {"en"}, 4, 2), Idva("b", {"en"}, 4, 1)},
       HighRiskDa(),
       "b"},
      {"ratio not count: 1/4 beats 1/2",
       {Idva("a", {"en"}, 2, 1), Idva("b", {"en"}, 4, 1)},
       HighRiskDa(),
       "b"},
      {"equal load: longest idle wins",
       {Idva("a", {"en"}, 2, 0, 200), Idva("b", {"en"}, 2, 0, 100)},
       HighRiskDa(),
       "b"},
      {"language beats load",
       {Idva("a", {"en"}, 10, 0), Idva("b", {"pa"}, 2, 1)},
       HighRiskDa("pa", true),
       "b"},
      {"language subtag matches",
       {Idva("a", {"en"}, 10), Idva("b", {"pa-IN"}, 2)},
       HighRiskDa("pa", true),
       "b"},
      {"full advocates are skipped",
       {Idva("a", {"en"}, 1, 1), Idva("b", {"en"}, 5, 4)},
       HighRiskDa(),
       "b"},
      {"everyone full: nobody", {Idva("a", {"en"}, 1, 1)}, HighRiskDa(), ""},
      {"zero capacity (on leave): nobody",
       {Idva("a", {"en"}, 0)},
       HighRiskDa(),
       ""},
  };
  AdvocateView elsewhere = Idva("c", {"en"}, 9);
  elsewhere.localities = {"L2"};
  rows.push_back({"other locality: nobody", {elsewhere}, HighRiskDa(), ""});
  AdvocateView anywhere = Idva("d", {"en"}, 9);
  anywhere.localities = {"*"};
  rows.push_back({"'*' serves every locality", {anywhere}, HighRiskDa(), "d"});
  AdvocateView isva = Idva("e", {"en"}, 9);
  isva.role = v1::ADVOCATE_ROLE_ISVA;
  rows.push_back({"wrong role: nobody", {isva}, HighRiskDa(), ""});
  AdvocateView away = Idva("f", {"en"}, 9);
  away.on_leave = true;
  rows.push_back({"on leave: nobody", {away}, HighRiskDa(), ""});
  AdvocateView later = Idva("g", {"en"}, 9);
  later.available_from_ms = HighRiskDa().now_ms + 1;
  rows.push_back({"not yet available: nobody", {later}, HighRiskDa(), ""});
  MatchRequest continuity = HighRiskDa();
  continuity.previous = {"h"};
  rows.push_back({"continuity beats load",
                  {Idva("a", {"en"}, 4, 0), Idva("h", {"en"}, 4, 3)},
                  continuity,
                  "h"});
  MatchRequest declined = HighRiskDa();
  declined.excluded = {"a"};
  rows.push_back({"an advocate who declined is not offered again",
                  {Idva("a", {"en"}, 4, 0), Idva("b", {"en"}, 4, 3)},
                  declined,
                  "b"});
  for (const Row& row : rows) {
    MatchResult r = Match(row.request, row.roster);
    EXPECT_EQ(r.chosen ? r.chosen->advocate_id : "", row.expected) << row.name;
    EXPECT_FALSE(r.reason.empty()) << row.name;
  }
}

TEST(MatchingTest, ServicePathwaysHaveNoAdvocateRole) {
  EXPECT_FALSE(RoleForPathway(v1::PATHWAY_SARC));
  EXPECT_FALSE(RoleForPathway(v1::PATHWAY_PERPETRATOR_PROGRAMME));
  EXPECT_EQ(RoleForPathway(v1::PATHWAY_RESTORATIVE_JUSTICE),
            v1::ADVOCATE_ROLE_RJ_FACILITATOR);
}

}  // namespace
}  // namespace signpost::advocacy
