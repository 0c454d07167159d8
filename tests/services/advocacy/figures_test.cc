// Advocacy's figures over a real SQLite file: a fixed set of assignments
// (saved through the assignment store, the V9 columns set as the app sets
// them), with every expected value computed by hand in the comments,
// including suppression (a group of 4 withheld, groups of 5 and more shown),
// nearest-rank medians and 90th percentiles.
#include "services/advocacy/figures.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/reporting/figures.h"
#include "common/status/macros.h"
#include "gtest/gtest.h"
#include "services/advocacy/advocacy_store.h"
#include "services/advocacy/assigner.h"
#include "services/advocacy/assignment_store.h"
#include "tests/support/test_support.h"

namespace signpost::advocacy {
namespace {

constexpr int64_t kHour = 3600 * 1000;
constexpr int64_t kDay = 24 * kHour;

// A figure as "section|labels|measure".
std::string Key(const v1::Figure& f) {
  return absl::StrCat(f.section(), "|", reporting::LabelsText(f), "|",
                      f.measure());
}

class AdvocacyFiguresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::Database::Open(dir_.File("advocacy.db"),
                                    AdvocacyStore::Migrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
    ASSERT_TRUE(db_->Write([](store::Tx& tx) {
                     return tx.Exec(
                         "INSERT INTO providers (provider_id, name) VALUES "
                         "('prov-a', 'A'), ('prov-b', 'B'), ('prov-c', 'C');"
                         "INSERT INTO advocates (advocate_id, provider_id, "
                         "display_name, role, languages, localities, "
                         "capacity) VALUES ('adv-a', 'prov-a', 'x', 1, '', "
                         "'', 50), ('adv-b', 'prov-b', 'y', 1, '', '', 50);");
                   })
                    .ok());
  }

  // Saves an assignment created at t0_ + `created` in `area`, then sets
  // the columns that name times (0: not yet).
  struct Row {
    v1::Pathway pathway = v1::PATHWAY_IDVA;
    v1::ServiceKind service = v1::SERVICE_KIND_UNSPECIFIED;
    v1::AssignmentState state = v1::ASSIGNMENT_STATE_ACTIVE;
    std::string advocate = "", provider = "", area = "WMP";
    int64_t created = kDay, waitlisted = 0, offered = 0, due = 0, contact = 0,
            referral_due = 0, closed = 0;         // offsets from t0_ (0: unset)
    int safer = 0, copes = 0, informed = 0;       // at closure
    int b_safe = 0, b_copes = 0, b_informed = 0;  // baseline
  };
  std::string Save(const Row& row) {
    const std::string id = absl::StrCat("asg-", ++next_);
    auto ms = [&](int64_t offset) { return offset == 0 ? 0 : t0_ + offset; };
    absl::Status s = db_->Write([&](store::Tx& tx) -> absl::Status {
      AssignmentRecord r;
      r.assignment_id = AssignmentId(id);
      r.referral_id = ReferralId(absl::StrCat("ref-", next_));
      r.pathway = row.pathway;
      r.service = row.service;
      r.state = row.state;
      r.advocate_id = AdvocateId(row.advocate);
      r.provider_id = ProviderId(row.provider);
      r.area = row.area;
      r.priority = v1::PRIORITY_STANDARD;
      r.created_at = absl::FromUnixMillis(t0_ + row.created);
      RETURN_IF_ERROR(AssignmentStore().Save(tx, r));
      ASSIGN_OR_RETURN(
          store::Statement q,
          tx.Prepare(
              "UPDATE assignments SET waitlisted_at_ms = ?, offered_at_ms = "
              "?, first_contact_due_ms = ?, first_contact_at_ms = ?, "
              "referral_due_ms = ?, closed_at_ms = ?, feels_safer = ?, "
              "copes_better = ?, better_informed = ?, baseline_feels_safe = "
              "?, baseline_copes = ?, baseline_informed = ? WHERE "
              "assignment_id = ?"));
      q.Bind(1, ms(row.waitlisted))
          .Bind(2, ms(row.offered))
          .Bind(3, ms(row.due))
          .Bind(4, ms(row.contact))
          .Bind(5, ms(row.referral_due))
          .Bind(6, ms(row.closed))
          .Bind(7, int64_t{row.safer})
          .Bind(8, int64_t{row.copes})
          .Bind(9, int64_t{row.informed})
          .Bind(10, int64_t{row.b_safe})
          .Bind(11, int64_t{row.b_copes})
          .Bind(12, int64_t{row.b_informed})
          .Bind(13, id);
      return q.Run();
    });
    EXPECT_TRUE(s.ok()) << s;
    return id;
  }
  void Step(const std::string& id, int64_t at, const char* step,
            const std::string& advocate, const std::string& detail = "") {
    absl::Status s = db_->Write([&](store::Tx& tx) {
      return AssignmentStore().AddHistory(
          tx, AssignmentId(id),
          advocacy::Step(absl::FromUnixMillis(t0_ + at), step,
                         AdvocateId(advocate), detail));
    });
    EXPECT_TRUE(s.ok()) << s;
  }
  void Update(const std::string& id, int64_t at, bool within) {
    absl::Status s = db_->Write([&](store::Tx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(store::Statement q,
                       tx.Prepare("INSERT INTO assignment_updates "
                                  "(assignment_id, at_ms, kind, due_ms, "
                                  "within_deadline) VALUES (?,?,8,?,?)"));
      // The clock was running: due a day after (met or not as given).
      q.Bind(1, id)
          .Bind(2, t0_ + at)
          .Bind(3, t0_ + at + kDay)
          .Bind(4, int64_t{within});
      return q.Run();
    });
    EXPECT_TRUE(s.ok()) << s;
  }

  std::map<std::string, v1::Figure> Figures() {
    reporting::FigureQuery q;
    q.area_code = "WMP";
    q.from = absl::FromUnixMillis(t0_);
    q.to = absl::FromUnixMillis(t0_ + 30 * kDay);
    q.now = absl::FromUnixMillis(t0_ + 60 * kDay);
    q.threshold = 5;
    auto figures = AdvocacyFigures(*db_, q);
    EXPECT_TRUE(figures.ok()) << figures.status();
    std::map<std::string, v1::Figure> out;
    if (!figures.ok()) return out;
    for (const v1::Figure& f : *figures) {
      EXPECT_TRUE(out.emplace(Key(f), f).second) << "twice: " << Key(f);
    }
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  // 2024-06-01T00:00:00Z
  const int64_t t0_ = int64_t{1717200000} * 1000;
  int next_ = 0;
};

// Expects the figure `key` shown with `value` over `base`.
#define EXPECT_SHOWN(figures, key, v, b)        \
  do {                                          \
    ASSERT_EQ((figures).count(key), 1u) << key; \
    const v1::Figure& f_ = (figures).at(key);   \
    EXPECT_FALSE(f_.suppressed()) << key;       \
    EXPECT_DOUBLE_EQ(f_.value(), (v)) << key;   \
    EXPECT_EQ(f_.base(), (b)) << key;           \
  } while (0)
// Expects the figure `key` withheld: value and base 0.
#define EXPECT_SUPPRESSED(figures, key)         \
  do {                                          \
    ASSERT_EQ((figures).count(key), 1u) << key; \
    const v1::Figure& f_ = (figures).at(key);   \
    EXPECT_TRUE(f_.suppressed()) << key;        \
    EXPECT_EQ(f_.value(), 0) << key;            \
    EXPECT_EQ(f_.base(), 0) << key;             \
  } while (0)

TEST_F(AdvocacyFiguresTest, FixedAssignmentsGiveTheFiguresComputedByHand) {
  // Six IDVA cases of prov-a, contacted 1, 2, 3, 4, 5 and 10 hours after
  // assignment, each due 8 hours after it: five met. All closed on day 20.
  // Closure answers (1 YES, 2 NO, 3 NOT_ASKED) and baselines per case.
  const int64_t hours[] = {1, 2, 3, 4, 5, 10};
  const int safer[] = {1, 1, 1, 2, 2, 3};
  const int b_safe[] = {1, 2, 2, 2, 2, 0};
  const int copes[] = {1, 1, 1, 1, 3, 3};
  std::vector<std::string> idva;
  for (int i = 0; i < 6; ++i) {
    Row r;
    r.state = v1::ASSIGNMENT_STATE_CLOSED;
    r.advocate = "adv-a";
    r.due = kDay + 8 * kHour;
    r.contact = kDay + hours[i] * kHour;
    r.closed = 20 * kDay;
    r.safer = safer[i];
    r.b_safe = b_safe[i];
    r.copes = copes[i];
    r.informed = 1;
    // The first five waited 24, 48, 72, 96 and 120 hours on the waitlist;
    // the first five had a VCOP referral deadline, four met.
    if (i < 5) {
      r.waitlisted = kDay;
      r.offered = kDay + (i + 1) * 24 * kHour;
      r.referral_due = r.offered + (i == 4 ? -kHour : kHour);
    }
    idva.push_back(Save(r));
  }
  // Four ISVA cases of prov-b, contacted after 20, 30, 40 and 50 hours,
  // due after 8: all missed.
  for (int64_t h : {20, 30, 40, 50}) {
    Row r;
    r.pathway = v1::PATHWAY_ISVA;
    r.advocate = "adv-b";
    r.due = kDay + 8 * kHour;
    r.contact = kDay + h * kHour;
    Save(r);
  }
  // Never contacted, due on day 2 (past by now): missed.
  Save({.state = v1::ASSIGNMENT_STATE_OFFERED,
        .advocate = "adv-a",
        .due = 2 * kDay});
  // Released before its deadline, never contacted: not counted.
  Save({.state = v1::ASSIGNMENT_STATE_RELEASED,
        .advocate = "adv-a",
        .due = kDay + 8 * kHour,
        .closed = kDay + kHour});
  // A perpetrator programme contacted after 100 hours, and another area's
  // case: in no figure.
  Save({.pathway = v1::PATHWAY_PERPETRATOR_PROGRAMME,
        .advocate = "adv-a",
        .due = kDay + kHour,
        .contact = kDay + 100 * kHour});
  Save({.advocate = "adv-a",
        .area = "WYP",
        .due = kDay + kHour,
        .contact = kDay + 100 * kHour});
  // Three waiting now.
  for (int i = 0; i < 3; ++i) {
    Save({.state = v1::ASSIGNMENT_STATE_WAITLISTED, .waitlisted = 3 * kDay});
  }
  // Offers answered: prov-a 5 accepted, 1 declined, 1 expired; prov-b 4
  // accepted; a SARC service referral declined by prov-c three times (its
  // detail names the provider) and accepted by it twice.
  for (int i = 0; i < 5; ++i) Step(idva[i], kDay, "ACCEPTED", "adv-a");
  Step(idva[5], kDay, "DECLINED", "adv-a", "NO_CAPACITY");
  Step(idva[5], kDay, "EXPIRED", "adv-a", "OFFER-EXPIRY");
  const std::string sarc = Save({.pathway = v1::PATHWAY_SARC,
                                 .service = v1::SERVICE_KIND_SARC,
                                 .state = v1::ASSIGNMENT_STATE_ACCEPTED,
                                 .provider = "prov-c"});
  for (int i = 0; i < 3; ++i) {
    Step(sarc, kDay + i, "DECLINED", "", "prov-c NO_CAPACITY");
  }
  Step(sarc, 2 * kDay, "ACCEPTED", "");
  Step(sarc, 3 * kDay, "ACCEPTED", "");
  for (int i = 0; i < 4; ++i) Step(sarc, 4 * kDay + i, "ACCEPTED", "adv-b");
  // Updates given: six, five on time; one after the period.
  for (int i = 0; i < 6; ++i) Update(idva[i], 2 * kDay + i, i != 0);
  Update(idva[0], 40 * kDay, false);

  std::map<std::string, v1::Figure> f = Figures();

  // Hours to first contact, sorted 1 2 3 4 5 10 20 30 40 50 (n = 10):
  // median rank ceil(5) = 5 -> 5; p90 rank ceil(9) = 9 -> 40.
  EXPECT_SHOWN(f, "first_contact||median_hours", 5, 10);
  EXPECT_SHOWN(f, "first_contact||p90_hours", 40, 10);
  // IDVA (n = 6): 1 2 3 4 5 10: median rank 3 -> 3; p90 rank 6 -> 10.
  EXPECT_SHOWN(f, "first_contact|pathway=PATHWAY_IDVA|median_hours", 3, 6);
  EXPECT_SHOWN(f, "first_contact|pathway=PATHWAY_IDVA|p90_hours", 10, 6);
  EXPECT_SHOWN(f, "first_contact|provider=prov-a|median_hours", 3, 6);
  // ISVA and prov-b: four cases, withheld.
  EXPECT_SUPPRESSED(f, "first_contact|pathway=PATHWAY_ISVA|median_hours");
  EXPECT_SUPPRESSED(f, "first_contact|pathway=PATHWAY_ISVA|p90_hours");
  EXPECT_SUPPRESSED(f, "first_contact|provider=prov-b|median_hours");
  EXPECT_EQ(f.count("first_contact|pathway=PATHWAY_PERPETRATOR_PROGRAMME|"
                    "median_hours"),
            0u);

  // First contact: 5 met of 11 (10 contacted + 1 missed uncontacted;
  // the released one not counted) = 45.45 -> 45.5.
  EXPECT_SHOWN(f, "deadlines|deadline=FIRST_CONTACT|met_percent", 45.5, 11);
  // VCOP referral: 4 of 5 = 80.
  EXPECT_SHOWN(f, "deadlines|deadline=VCOP_REFERRAL|met_percent", 80, 5);
  // Updates: 5 of 6 in the period = 83.33 -> 83.3.
  EXPECT_SHOWN(f, "deadlines|deadline=UPDATES|met_percent", 83.3, 6);

  // Three waiting now: withheld. Waited 24 48 72 96 120 (n = 5): median
  // rank 3 -> 72, p90 rank ceil(4.5) = 5 -> 120.
  EXPECT_SUPPRESSED(f, "waitlist||waiting_now");
  EXPECT_SHOWN(f, "waitlist||wait_median_hours", 72, 5);
  EXPECT_SHOWN(f, "waitlist||wait_p90_hours", 120, 5);

  // prov-a: 5 accepted, 1 declined of 7 = 71.4 and 14.3.
  EXPECT_SHOWN(f, "providers|provider=prov-a|accepted_percent", 71.4, 7);
  EXPECT_SHOWN(f, "providers|provider=prov-a|declined_percent", 14.3, 7);
  // prov-c: 2 accepted, 3 declined of 5 = 40 and 60 (shown at exactly 5).
  EXPECT_SHOWN(f, "providers|provider=prov-c|accepted_percent", 40, 5);
  EXPECT_SHOWN(f, "providers|provider=prov-c|declined_percent", 60, 5);
  // prov-b: four answers, withheld.
  EXPECT_SUPPRESSED(f, "providers|provider=prov-b|accepted_percent");

  // Feels safer: asked 5 (one not asked), 3 YES = 60. Baseline asked for
  // the same 5: 1 YES = 20; at closure 60; change +40 points.
  EXPECT_SHOWN(f, "outcomes|question=feels_safer|yes_percent", 60, 5);
  EXPECT_SHOWN(f, "outcomes|question=feels_safer|baseline_yes_percent", 20, 5);
  EXPECT_SHOWN(f, "outcomes|question=feels_safer|paired_yes_percent", 60, 5);
  EXPECT_SHOWN(f, "outcomes|question=feels_safer|change_points", 40, 5);
  // Copes better: asked 4: withheld. Better informed: 6 of 6, no baseline.
  EXPECT_SUPPRESSED(f, "outcomes|question=copes_better|yes_percent");
  EXPECT_SHOWN(f, "outcomes|question=better_informed|yes_percent", 100, 6);
  EXPECT_SUPPRESSED(f, "outcomes|question=better_informed|change_points");
}

TEST_F(AdvocacyFiguresTest, AnEmptyAreaHasEveryOverallFigureSuppressed) {
  std::map<std::string, v1::Figure> f = Figures();
  EXPECT_SUPPRESSED(f, "first_contact||median_hours");
  EXPECT_SUPPRESSED(f, "deadlines|deadline=FIRST_CONTACT|met_percent");
  EXPECT_SUPPRESSED(f, "waitlist||waiting_now");
  EXPECT_SUPPRESSED(f, "outcomes|question=feels_safer|yes_percent");
}

}  // namespace
}  // namespace signpost::advocacy
