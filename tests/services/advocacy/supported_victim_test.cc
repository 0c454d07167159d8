// "Who supported this victim before" (matching prefers them) on a real
// SQLite file: the same answer as a walk over every assignment of the
// victim, from a few index entries per advocate however many assignments the
// victim has (issue 16).
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/store/database.h"
#include "gtest/gtest.h"
#include "services/advocacy/advocacy_store.h"
#include "services/advocacy/assignment_store.h"
#include "services/advocacy/directory_store.h"
#include "tests/support/query_plan.h"
#include "tests/support/test_support.h"

namespace signpost::advocacy {
namespace {

// The query before issue 16: every assignment of the victim, filtered.
constexpr char kWalk[] =
    "SELECT DISTINCT advocate_id FROM assignments WHERE victim_ref = ?1 AND "
    "assignment_id != ?2 AND advocate_id != '' AND state IN (3,4,5)";

class SupportedVictimTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::Database::Open(path_, AdvocacyStore::Migrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }

  // `count` assignments of `victim`, cycling through the states and five
  // advocates (the waitlisted ones have none).
  void AddAssignments(const std::string& victim, int count) {
    ASSERT_TRUE(
        db_->Write([&](store::Tx& tx) -> absl::Status {
             for (int i = 0; i < count; ++i) {
               AssignmentRecord a;
               a.assignment_id = AssignmentId(absl::StrCat(victim, "-a", i));
               a.referral_id = ReferralId(absl::StrCat(victim, "-r", i));
               a.pathway = v1::PATHWAY_IDVA;
               a.state = static_cast<v1::AssignmentState>(1 + i % 6);
               if (a.state != v1::ASSIGNMENT_STATE_WAITLISTED) {
                 a.advocate_id = AdvocateId(absl::StrCat("advocate-", i % 5));
               }
               a.victim_ref = victim;
               a.created_at = absl::FromUnixMillis(1000 + i);
               RETURN_IF_ERROR(store_.Save(tx, a));
             }
             return absl::OkStatus();
           })
            .ok());
  }

  std::set<std::string> Supported(const std::string& victim,
                                  const std::string& except) {
    auto ids = db_->Read([&](store::Tx& tx) {
      return store_.AdvocatesWhoSupportedVictim(tx, victim,
                                                AssignmentId(except));
    });
    EXPECT_TRUE(ids.ok()) << ids.status();
    std::set<std::string> out;
    if (ids.ok()) {
      for (const AdvocateId& id : *ids) out.insert(id.value());
    }
    return out;
  }

  std::set<std::string> Walked(const std::string& victim,
                               const std::string& except) {
    auto ids =
        db_->Read([&](store::Tx& tx) -> absl::StatusOr<std::set<std::string>> {
          ASSIGN_OR_RETURN(store::Statement q, tx.Prepare(kWalk));
          q.Bind(1, victim).Bind(2, except);
          std::set<std::string> out;
          while (true) {
            ASSIGN_OR_RETURN(bool row, q.Step());
            if (!row) return out;
            out.insert(q.ColumnText(0));
          }
        });
    EXPECT_TRUE(ids.ok()) << ids.status();
    return ids.ok() ? *ids : std::set<std::string>{};
  }

  testing::TempDir dir_;
  std::string path_ = dir_.File("advocacy.db");
  std::unique_ptr<store::Database> db_;
  AssignmentStore store_;
};

TEST_F(SupportedVictimTest, SameAdvocatesAsAWalkOverTheVictimsAssignments) {
  AddAssignments("victim-many", 200);
  AddAssignments("victim-one", 1);
  AddAssignments("victim-few", 4);
  for (const std::string victim : {"victim-many", "victim-one", "victim-few"}) {
    // Excluding each kind of assignment, and none.
    for (const std::string& except :
         {std::string("none"), absl::StrCat(victim, "-a0"),
          absl::StrCat(victim, "-a2"), absl::StrCat(victim, "-a3"),
          absl::StrCat(victim, "-a4")}) {
      EXPECT_EQ(Supported(victim, except), Walked(victim, except))
          << victim << " except " << except;
    }
  }
  // An advocate whose only supporting assignment is the one excluded is not
  // "previous" for it.
  AddAssignments("victim-single", 3);  // a2: ACCEPTED by advocate-2
  EXPECT_EQ(Supported("victim-single", "victim-single-a2"),
            std::set<std::string>{});
  EXPECT_EQ(Supported("victim-single", "none"),
            std::set<std::string>{"advocate-2"});
}

// 2,000 assignments of one victim cost the lookup what 30 do (the same five
// advocates); the walk, the control, grows with them.
TEST_F(SupportedVictimTest, LookupReadsAFewEntriesPerAdvocateNotPerAssignment) {
  AddAssignments("victim-many", 2000);
  AddAssignments("victim-few", 30);
  AddAssignments("victim-other", 50);
  auto run = [&](const char* sql, const std::string& victim) {
    testing::QueryRun r =
        testing::RunQuery(path_, sql, {victim, absl::StrCat(victim, "-a2")});
    EXPECT_TRUE(testing::SearchesByIndex(r, "assignments")) << sql;
    return r;
  };
  const testing::QueryRun few =
      run(AssignmentStore::kSupportedVictimSql, "victim-few");
  const testing::QueryRun many =
      run(AssignmentStore::kSupportedVictimSql, "victim-many");
  EXPECT_EQ(many.rows, 5);
  EXPECT_EQ(few.rows, 5);
  EXPECT_LE(many.vm_steps, few.vm_steps * 3 / 2);
  const testing::QueryRun walk_few = run(kWalk, "victim-few");
  const testing::QueryRun walk_many = run(kWalk, "victim-many");
  EXPECT_GT(walk_many.vm_steps, 20 * walk_few.vm_steps);
}

// A provider's open services of a kind are counted from an index alone: no
// assignment row is read, however many are open (issue 16: through the
// (provider, state) index every open row was read to check its service).
TEST_F(SupportedVictimTest, ProvidersOfferingCountsOpenServicesFromAnIndex) {
  const testing::QueryRun r =
      testing::RunQuery(path_, DirectoryStore::kProvidersOfferingSql,
                        {int64_t{v1::SERVICE_KIND_SARC}, std::string("WMP")});
  bool covered = false;
  for (const std::string& step : r.plan) {
    if (absl::StrContains(step, "COVERING INDEX assignments_provider_service"))
      covered = true;
  }
  EXPECT_TRUE(covered) << absl::StrJoin(r.plan, " | ");
}

}  // namespace
}  // namespace signpost::advocacy
