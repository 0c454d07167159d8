// Triage's victim history (MARAC-REPEAT, MARAC-ESCALATION) on a real SQLite
// file: the lookups give what a walk over every earlier row would, and read
// a fixed number of index entries however many referrals the victim has
// (issue 16).
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/status/macros.h"
#include "common/store/database.h"
#include "common/time/timestamps.h"
#include "gtest/gtest.h"
#include "services/triage/triage_store.h"
#include "tests/support/query_plan.h"
#include "tests/support/test_support.h"

namespace signpost::triage {
namespace {

constexpr int64_t kDayMs = 86400000;
constexpr int64_t kBaseMs = int64_t{1700000000000};

// The lookups as they were before issue 16 (one walk over the victim's rows
// in the window): the reference the bounded lookups must agree with.
constexpr char kWalkLastMarac[] =
    "SELECT MAX(incident_time_ms) FROM victim_history WHERE victim_ref = ?1 "
    "AND marac = 1 AND referral_id != ?2 AND incident_time_ms <= ?3";
constexpr char kWalkDaCount[] =
    "SELECT COUNT(*) FROM victim_history WHERE victim_ref = ?1 AND "
    "referral_id != ?2 AND domestic_abuse = 1 AND incident_time_ms <= ?3 AND "
    "incident_time_ms > ?4";

v1::ReferralFacts FactsOf(const std::string& person, int64_t incident_ms,
                          bool domestic_abuse) {
  v1::ReferralFacts f;
  f.set_person_id(person);
  *f.mutable_offence_time() =
      timeutil::ToTimestamp(absl::FromUnixMillis(incident_ms));
  f.add_harm_types(domestic_abuse ? v1::HARM_TYPE_DOMESTIC_ABUSE
                                  : v1::HARM_TYPE_STALKING);
  return f;
}

class VictimHistoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::Database::Open(path_, TriageStore::Migrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }

  void Record(const std::string& referral, const v1::ReferralFacts& facts,
              bool marac) {
    ASSERT_TRUE(db_->Write([&](store::Tx& tx) {
                     return store_.RecordVictimReferral(
                         tx, ReferralId(referral), facts, marac);
                   })
                    .ok());
  }

  VictimHistory Load(const std::string& referral,
                     const v1::ReferralFacts& facts) {
    auto h = db_->Read([&](store::Tx& tx) {
      return store_.LoadVictimHistory(tx, ReferralId(referral), facts);
    });
    EXPECT_TRUE(h.ok()) << h.status();
    return h.ok() ? *h : VictimHistory{};
  }

  // What the walk over every row says for `referral` of `facts`.
  VictimHistory Walk(const std::string& referral,
                     const v1::ReferralFacts& facts) {
    const int64_t at = absl::ToUnixMillis(IncidentTime(facts));
    auto h = db_->Read([&](store::Tx& tx) -> absl::StatusOr<VictimHistory> {
      VictimHistory out;
      ASSIGN_OR_RETURN(store::Statement m, tx.Prepare(kWalkLastMarac));
      m.Bind(1, facts.person_id()).Bind(2, referral).Bind(3, at);
      ASSIGN_OR_RETURN(bool row, m.Step());
      if (row && !m.ColumnIsNull(0)) {
        out.last_marac_referral = absl::FromUnixMillis(m.ColumnInt(0));
      }
      ASSIGN_OR_RETURN(store::Statement c, tx.Prepare(kWalkDaCount));
      c.Bind(1, facts.person_id())
          .Bind(2, referral)
          .Bind(3, at)
          .Bind(4, at - 365 * kDayMs);
      RETURN_IF_ERROR(c.Step().status());
      out.earlier_da_referrals_12_months = static_cast<int>(c.ColumnInt(0));
      return out;
    });
    EXPECT_TRUE(h.ok()) << h.status();
    return h.ok() ? *h : VictimHistory{};
  }

  testing::TempDir dir_;
  std::string path_ = dir_.File("triage.db");
  std::unique_ptr<store::Database> db_;
  TriageStore store_;
};

// Referrals recorded out of incident order, re-recorded with another
// incident time or harm, and probed at every kind of point: the bounded
// lookups agree with the walk every time.
TEST_F(VictimHistoryTest, BoundedLookupsAgreeWithAWalkOverEveryRow) {
  std::mt19937 random(16);
  std::uniform_int_distribution<int64_t> day(0, 3 * 365);
  std::map<std::string, v1::ReferralFacts> recorded;
  for (int i = 0; i < 300; ++i) {
    const std::string person = i % 7 == 0 ? "person-b" : "person-a";
    const std::string referral = absl::StrCat("referral-", i % 250);
    // Whole days, so that many share an incident time.
    const v1::ReferralFacts facts =
        FactsOf(person, kBaseMs + day(random) * kDayMs, random() % 3 != 0);
    Record(referral, facts, random() % 4 == 0);
    recorded[referral] = facts;
  }
  for (const auto& [referral, facts] : recorded) {
    const VictimHistory walk = Walk(referral, facts);
    const VictimHistory got = Load(referral, facts);
    EXPECT_EQ(got.last_marac_referral, walk.last_marac_referral) << referral;
    EXPECT_EQ(got.earlier_da_referrals_12_months,
              walk.earlier_da_referrals_12_months)
        << referral;
    // A new referral of the same person at the same time, not yet recorded.
    const VictimHistory walk_new = Walk("referral-new", facts);
    const VictimHistory got_new = Load("referral-new", facts);
    EXPECT_EQ(got_new.last_marac_referral, walk_new.last_marac_referral);
    EXPECT_EQ(got_new.earlier_da_referrals_12_months,
              walk_new.earlier_da_referrals_12_months)
        << referral;
  }
}

// 2,000 earlier referrals of one victim (the first went to MARAC, none
// since) cost the lookups what 10 do: the plans search covering indexes, and
// a run takes as many steps (a walk over the window, the control, takes many
// times more).
TEST_F(VictimHistoryTest,
       LookupsReadAFixedNumberOfEntriesHoweverLongTheHistory) {
  ASSERT_TRUE(db_->Write([&](store::Tx& tx) -> absl::Status {
                   for (int i = 0; i < 2000; ++i) {
                     RETURN_IF_ERROR(store_.RecordVictimReferral(
                         tx, ReferralId(absl::StrCat("many-", i)),
                         FactsOf("person-many", kBaseMs + i * 60000, true),
                         /*marac=*/i == 0));
                   }
                   for (int i = 0; i < 10; ++i) {
                     RETURN_IF_ERROR(store_.RecordVictimReferral(
                         tx, ReferralId(absl::StrCat("few-", i)),
                         FactsOf("person-few", kBaseMs + i * 60000, true),
                         /*marac=*/i == 0));
                     RETURN_IF_ERROR(store_.RecordVictimReferral(
                         tx, ReferralId(absl::StrCat("other-", i)),
                         FactsOf(absl::StrCat("person-", i), kBaseMs, true),
                         true));
                   }
                   return absl::OkStatus();
                 })
                  .ok());
  const int64_t now = kBaseMs + 3000 * 60000;
  const int64_t year_ago = now - 365 * kDayMs;
  auto steps = [&](const std::string& sql,
                   const std::vector<testing::SqlArg>& args) {
    testing::QueryRun run = testing::RunQuery(path_, sql, args);
    EXPECT_TRUE(testing::SearchesByIndex(run, "victim_history")) << sql;
    EXPECT_LE(run.rows, 1) << sql;
    return run.vm_steps;
  };
  for (const int64_t at : {now, year_ago + 1000 * 60000}) {
    const int64_t few =
        steps(TriageStore::kLastMaracSql, {"person-few", "few-9", at});
    const int64_t many =
        steps(TriageStore::kLastMaracSql, {"person-many", "many-1999", at});
    EXPECT_LE(many, few + 10) << "last MARAC referral at " << at;
  }
  for (const int64_t at : {now, year_ago, kBaseMs + 1000 * 60000}) {
    const int64_t few = steps(TriageStore::kDaPositionSql, {"person-few", at});
    const int64_t many =
        steps(TriageStore::kDaPositionSql, {"person-many", at});
    EXPECT_LE(many, few + 10) << "domestic-abuse position at " << at;
  }
  // The control: the walk's cost grows with the history, so the measure
  // above would see a lookup that walks.
  const int64_t walk_few =
      steps(kWalkDaCount, {"person-few", "x", now, year_ago});
  const int64_t walk_many =
      steps(kWalkDaCount, {"person-many", "x", now, year_ago});
  EXPECT_GT(walk_many, 20 * walk_few);

  const v1::ReferralFacts next = FactsOf("person-many", now, true);
  const VictimHistory h = Load("many-next", next);
  EXPECT_EQ(h.earlier_da_referrals_12_months, 2000);
  EXPECT_EQ(h.last_marac_referral, absl::FromUnixMillis(kBaseMs));
}

}  // namespace
}  // namespace signpost::triage
