// Triage's figures over a real SQLite file: referrals received by source
// and pathway, from facts and decisions written through TriageStore, with
// the expected counts worked out by hand, including suppression.
#include "services/triage/figures.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status/macros.h"
#include "gtest/gtest.h"
#include "services/triage/triage_store.h"
#include "tests/support/test_support.h"

namespace signpost::triage {
namespace {

class TriageFiguresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::Database::Open(dir_.File("triage.db"),
                                    TriageStore::Migrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }

  // A referral whose decision `version` was made at t0_ + `at`.
  void Decide(
      v1::ReferralSource source, std::vector<v1::Pathway> pathways,
      absl::Duration at, const std::string& area = "WMP", bool marac = false,
      v1::WithdrawalReason withdrawn = v1::WITHDRAWAL_REASON_UNSPECIFIED,
      int version = 1, std::string id = "") {
    if (id.empty()) id = absl::StrCat("ref-", ++next_);
    v1::ReferralFacts facts;
    facts.set_source(source);
    facts.set_area_code(area);
    facts.set_withdrawn(withdrawn);
    DecisionRecord record;
    record.decision.set_version(version);
    record.decision.set_area_code(area);
    record.decision.set_marac(marac);
    for (v1::Pathway p : pathways) record.decision.add_pathways(p);
    record.decided_at = t0_ + at;
    record.cause = kCauseReceived;
    absl::Status s = db_->Write([&](store::Tx& tx) -> absl::Status {
      if (version == 1) {
        RETURN_IF_ERROR(store_.InsertFacts(tx, ReferralId(id), facts));
      }
      return store_.InsertDecision(tx, ReferralId(id), record);
    });
    ASSERT_TRUE(s.ok()) << s;
  }

  std::map<std::string, v1::Figure> Figures() {
    reporting::FigureQuery q{"WMP", t0_, t0_ + absl::Hours(24 * 30),
                             t0_ + absl::Hours(24 * 60), 5};
    auto figures = TriageFigures(*db_, q);
    EXPECT_TRUE(figures.ok()) << figures.status();
    std::map<std::string, v1::Figure> out;
    for (const v1::Figure& f : figures.value_or(std::vector<v1::Figure>{})) {
      out[absl::StrCat(reporting::LabelsText(f), "|", f.measure())] = f;
    }
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  TriageStore store_;
  const absl::Time t0_ = absl::FromUnixSeconds(1717200000);  // 2024-06-01Z
  int next_ = 0;
};

void ExpectShown(const std::map<std::string, v1::Figure>& f,
                 const std::string& key, int64_t count) {
  ASSERT_EQ(f.count(key), 1u) << key;
  EXPECT_FALSE(f.at(key).suppressed()) << key;
  EXPECT_EQ(f.at(key).value(), count) << key;
  EXPECT_EQ(f.at(key).base(), count) << key;
}
void ExpectSuppressed(const std::map<std::string, v1::Figure>& f,
                      const std::string& key) {
  ASSERT_EQ(f.count(key), 1u) << key;
  EXPECT_TRUE(f.at(key).suppressed()) << key;
  EXPECT_EQ(f.at(key).value(), 0) << key;
  EXPECT_EQ(f.at(key).base(), 0) << key;
}

TEST_F(TriageFiguresTest, ReferralsBySourceAndPathwayAsCountedByHand) {
  // Six from the police to IDVA (one to MARAC too); four self-referrals to
  // IDVA and general support.
  for (int i = 0; i < 6; ++i) {
    Decide(v1::REFERRAL_SOURCE_POLICE, {v1::PATHWAY_IDVA}, absl::Hours(24 + i),
           "WMP", i == 0);
  }
  for (int i = 0; i < 4; ++i) {
    Decide(v1::REFERRAL_SOURCE_SELF,
           {v1::PATHWAY_IDVA, v1::PATHWAY_GENERAL_SUPPORT}, absl::Hours(48));
  }
  // Not counted: entered in error; another area; first decided before the
  // period (its reassessment inside it is not a new referral); after it.
  Decide(v1::REFERRAL_SOURCE_POLICE, {v1::PATHWAY_IDVA}, absl::Hours(1), "WMP",
         false, v1::WITHDRAWAL_REASON_ENTERED_IN_ERROR);
  Decide(v1::REFERRAL_SOURCE_POLICE, {v1::PATHWAY_IDVA}, absl::Hours(1), "WYP");
  Decide(v1::REFERRAL_SOURCE_POLICE, {v1::PATHWAY_IDVA}, -absl::Hours(1), "WMP",
         false, v1::WITHDRAWAL_REASON_UNSPECIFIED, 1, "early");
  Decide(v1::REFERRAL_SOURCE_POLICE, {v1::PATHWAY_IDVA}, absl::Hours(5), "WMP",
         false, v1::WITHDRAWAL_REASON_UNSPECIFIED, 2, "early");
  Decide(v1::REFERRAL_SOURCE_POLICE, {v1::PATHWAY_IDVA}, absl::Hours(24 * 30));

  std::map<std::string, v1::Figure> f = Figures();
  ExpectShown(f, "|count", 10);
  ExpectSuppressed(f, "|marac_count");  // 1
  ExpectShown(f, "source=REFERRAL_SOURCE_POLICE|count", 6);
  ExpectSuppressed(f, "source=REFERRAL_SOURCE_SELF|count");  // 4
  ExpectShown(f, "pathway=PATHWAY_IDVA|count", 10);
  ExpectSuppressed(f, "pathway=PATHWAY_GENERAL_SUPPORT|count");  // 4
  ExpectShown(f, "pathway=PATHWAY_IDVA;source=REFERRAL_SOURCE_POLICE|count", 6);
  ExpectSuppressed(f, "pathway=PATHWAY_IDVA;source=REFERRAL_SOURCE_SELF|count");
  EXPECT_EQ(f.size(), 9u);  // 2 overall + 2 sources + 2 pathways + 3 pairs
}

}  // namespace
}  // namespace signpost::triage
