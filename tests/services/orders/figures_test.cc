// Orders' figures over a real SQLite file, per month in Europe/London:
// considerations opened and decided, applications, grants and breaches,
// written through the orders store, checked value by value.
#include "services/orders/figures.h"

#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/ids/ids.h"
#include "common/status/macros.h"
#include "common/time/timestamps.h"
#include "gtest/gtest.h"
#include "services/orders/orders_store.h"
#include "tests/support/test_support.h"

namespace signpost::orders {
namespace {

class OrdersFiguresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(absl::LoadTimeZone("Europe/London", &london_));
    auto db = store::Database::Open(dir_.File("orders.db"), OrdersMigrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }
  absl::Time London(int y, int m, int d, int h = 12) {
    return absl::FromCivil(absl::CivilSecond(y, m, d, h, 0, 0), london_);
  }

  void Consideration(absl::Time opened, std::optional<absl::Time> decided) {
    const ConsiderationId id(NewUuid());
    absl::Status s = db_->Write([&](store::Tx& tx) -> absl::Status {
      RETURN_IF_ERROR(InsertConsideration(tx, id, ReferralId(NewUuid()),
                                          v1::CONSIDERATION_DVDS, "WMP", opened)
                          .status());
      if (!decided) return absl::OkStatus();
      ASSIGN_OR_RETURN(v1::ConsiderationRecord r, LoadConsideration(tx, id));
      r.set_applied(false);
      r.set_reason_code("NOT-NEEDED");
      return SaveConsiderationDecision(tx, r, *decided);
    });
    ASSERT_TRUE(s.ok()) << s;
  }
  // An order of `area` that moved to `state` at `at`.
  std::string Order(const std::string& area, v1::OrderState state,
                    absl::Time at) {
    v1::Order order;
    order.set_order_id(NewUuid());
    order.set_referral_id(NewUuid());
    order.set_order_type(v1::ORDER_TYPE_DVPO);
    order.set_state(state);
    order.set_area_code(area);
    v1::OrderChange change;
    *change.mutable_at() = timeutil::ToTimestamp(at);
    change.set_to_state(state);
    absl::Status s = db_->Write([&](store::Tx& tx) -> absl::Status {
      RETURN_IF_ERROR(SaveOrder(tx, order, at));
      return AddChange(tx, OrderId(order.order_id()), change);
    });
    EXPECT_TRUE(s.ok()) << s;
    return order.order_id();
  }
  void Breach(const std::string& order_id, absl::Time at) {
    v1::Breach b;
    b.set_breach_id(NewUuid());
    b.set_order_id(order_id);
    *b.mutable_occurred_at() = timeutil::ToTimestamp(at);
    b.set_incident_ref(NewUuid());
    absl::Status s =
        db_->Write([&](store::Tx& tx) { return InsertBreach(tx, b, at); });
    ASSERT_TRUE(s.ok()) << s;
  }

  std::map<std::string, v1::Figure> Figures() {
    reporting::FigureQuery q{"WMP", London(2024, 6, 1, 0),
                             London(2024, 8, 1, 0), London(2024, 9, 1), 5};
    auto figures = OrdersFigures(*db_, london_, q);
    EXPECT_TRUE(figures.ok()) << figures.status();
    std::map<std::string, v1::Figure> out;
    for (const v1::Figure& f : figures.value_or(std::vector<v1::Figure>{})) {
      EXPECT_EQ(f.section(), "orders");
      out[absl::StrCat(reporting::LabelsText(f), "|", f.measure())] = f;
    }
    return out;
  }

  testing::TempDir dir_;
  absl::TimeZone london_;
  std::unique_ptr<store::Database> db_;
};

TEST_F(OrdersFiguresTest, MonthlyCountsInLondonTimeAsCountedByHand) {
  // June: five considerations opened (one at 00:30 BST on 1 June, which is
  // still 31 May in UTC), all decided in July; two more opened in July.
  Consideration(absl::FromCivil(absl::CivilSecond(2024, 5, 31, 23, 30, 0),
                                absl::UTCTimeZone()),
                London(2024, 7, 2));
  for (int d = 2; d <= 5; ++d)
    Consideration(London(2024, 6, d), London(2024, 7, d));
  Consideration(London(2024, 7, 10), std::nullopt);
  Consideration(London(2024, 7, 11), std::nullopt);
  // Opened before the period: not counted.
  Consideration(London(2024, 5, 20), std::nullopt);
  // Six applications in June; four grants and five breaches in July.
  for (int d = 1; d <= 6; ++d)
    Order("WMP", v1::ORDER_STATE_APPLIED, London(2024, 6, d));
  std::string granted;
  for (int d = 1; d <= 4; ++d) {
    granted = Order("WMP", v1::ORDER_STATE_GRANTED, London(2024, 7, d));
  }
  for (int d = 10; d <= 14; ++d) Breach(granted, London(2024, 7, d));
  // Another area's order and breaches: not counted.
  const std::string other =
      Order("WYP", v1::ORDER_STATE_APPLIED, London(2024, 6, 9));
  Breach(other, London(2024, 6, 9));

  std::map<std::string, v1::Figure> f = Figures();
  ASSERT_EQ(f.size(), 10u);  // 2 months x 5 measures
  auto shown = [&](const std::string& key, double value) {
    ASSERT_EQ(f.count(key), 1u) << key;
    EXPECT_FALSE(f[key].suppressed()) << key;
    EXPECT_EQ(f[key].value(), value) << key;
    EXPECT_EQ(f[key].base(), value) << key;
  };
  auto suppressed = [&](const std::string& key) {
    ASSERT_EQ(f.count(key), 1u) << key;
    EXPECT_TRUE(f[key].suppressed()) << key;
    EXPECT_EQ(f[key].value(), 0) << key;
  };
  shown("month=2024-06|considerations_opened", 5);
  suppressed("month=2024-06|considerations_decided");  // 0
  shown("month=2024-06|applications", 6);
  suppressed("month=2024-06|grants");                 // 0
  suppressed("month=2024-06|breaches");               // 0
  suppressed("month=2024-07|considerations_opened");  // 2
  shown("month=2024-07|considerations_decided", 5);
  suppressed("month=2024-07|applications");  // 0
  suppressed("month=2024-07|grants");        // 4
  shown("month=2024-07|breaches", 5);
}

}  // namespace
}  // namespace signpost::orders
