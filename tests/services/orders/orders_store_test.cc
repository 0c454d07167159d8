// Orders' SQL and row mapping over a real SQLite file.
#include "services/orders/orders_store.h"

#include "common/ids/ids.h"
#include "common/status/macros.h"
#include "common/time/timestamps.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_support.h"

namespace signpost::orders {
namespace {

using store::Tx;
using ::testing::ElementsAre;

class OrdersStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::Database::Open(dir_.File("orders.db"), OrdersMigrations());
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = std::move(*db);
  }
  v1::Order NewOrder(v1::OrderType type, const std::string& area = "WMP") {
    v1::Order order;
    order.set_order_id(NewUuid());
    order.set_referral_id(referral_.value());
    order.set_order_type(type);
    order.set_state(v1::ORDER_STATE_APPLIED);
    order.set_area_code(area);
    return order;
  }
  absl::Status Save(const v1::Order& order, absl::Time at) {
    return db_->Write([&](Tx& tx) { return SaveOrder(tx, order, at); });
  }
  std::string ConditionsColumn(const std::string& order_id) {
    auto text = db_->Read([&](Tx& tx) -> absl::StatusOr<std::string> {
      auto q = tx.Prepare(
          "SELECT conditions_text FROM orders WHERE "
          "order_id = ?");
      if (!q.ok()) return q.status();
      q->Bind(1, order_id);
      auto row = q->Step();
      if (!row.ok()) return row.status();
      return *row ? q->ColumnText(0) : "<no row>";
    });
    return text.ok() ? *text : std::string(text.status().message());
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  ReferralId referral_{NewUuid()};
  absl::Time t0_ = absl::FromUnixSeconds(1717405200);
};

TEST_F(OrdersStoreTest, ConditionsTextIsKeptOutOfTheStoredOrder) {
  v1::Order order = NewOrder(v1::ORDER_TYPE_NON_MOLESTATION_ORDER);
  order.mutable_terms()->set_conditions_text("not within 100m of the school");
  order.add_timers()->set_kind("HEARING_DUE");
  // Never stored in plaintext: without the sealed value the save fails.
  EXPECT_EQ(Save(order, t0_).code(), absl::StatusCode::kInternal);
  const StoredText sealed{"<sealed bytes>", "aes256gcm-v1", "person-1"};
  ASSERT_TRUE(
      db_->Write([&](Tx& tx) { return SaveOrder(tx, order, t0_, sealed); })
          .ok());
  const OrderId id(order.order_id());
  auto loaded = db_->Read([&](Tx& tx) { return LoadOrder(tx, id); });
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->terms().conditions_text(), "");
  EXPECT_EQ(loaded->timers_size(), 0);  // timers are rows of their own
  EXPECT_EQ(absl::ToUnixSeconds(timeutil::FromTimestamp(loaded->updated_at())),
            1717405200);
  EXPECT_EQ(ConditionsColumn(order.order_id()), "<sealed bytes>");
  // A later save without the text keeps it, and how it was sealed.
  order.mutable_terms()->clear_conditions_text();
  order.set_state(v1::ORDER_STATE_GRANTED);
  ASSERT_TRUE(Save(order, t0_ + absl::Hours(1)).ok());
  auto stored = db_->Read([&](Tx& tx) { return LoadConditionsText(tx, id); });
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->value, sealed.value);
  EXPECT_EQ(stored->format, sealed.format);
  EXPECT_EQ(stored->owner, sealed.owner);
  // The order's referral is now one orders knows.
  auto referral =
      db_->Read([&](Tx& tx) { return FindReferral(tx, referral_); });
  ASSERT_TRUE(referral.ok() && referral->has_value());
  EXPECT_EQ((*referral)->area_code, "WMP");
}

TEST_F(OrdersStoreTest, UnknownOrderIsNotFound) {
  auto loaded = db_->Read(
      [&](Tx& tx) { return LoadOrderWithTimers(tx, OrderId(NewUuid())); });
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(OrdersStoreTest, EarliestPendingTimerSkipsFiredAndCancelledOnes) {
  v1::Order a = NewOrder(v1::ORDER_TYPE_DVPO);
  v1::Order b = NewOrder(v1::ORDER_TYPE_SPO);
  ASSERT_TRUE(Save(a, t0_).ok());
  ASSERT_TRUE(Save(b, t0_).ok());
  const OrderId ida(a.order_id()), idb(b.order_id());
  auto next = db_->Write([&](Tx& tx)
                             -> absl::StatusOr<std::optional<absl::Time>> {
    ASSIGN_OR_RETURN(std::optional<absl::Time> none, EarliestPendingTimer(tx));
    EXPECT_FALSE(none.has_value());
    RETURN_IF_ERROR(AddTimer(tx, ida, {"EM_END", t0_, "R"}));
    RETURN_IF_ERROR(
        AddTimer(tx, ida, {"HEARING_DUE", t0_ + absl::Hours(1), "R"}));
    RETURN_IF_ERROR(
        AddTimer(tx, idb, {"NOTIFICATION_DUTY", t0_ + absl::Hours(2), "R"}));
    RETURN_IF_ERROR(AddTimer(tx, idb, {"EM_END", t0_ + absl::Hours(3), "R"}));
    ASSIGN_OR_RETURN(std::vector<DueTimer> due, LoadDueTimers(tx, t0_, 10));
    EXPECT_EQ(due.size(), 1u);
    if (due.empty()) return absl::InternalError("nothing due");
    EXPECT_EQ(due[0].order_id, ida);
    EXPECT_EQ(due[0].kind, "EM_END");
    ASSIGN_OR_RETURN(bool fired, MarkTimerFired(tx, due[0].timer_id, t0_));
    EXPECT_TRUE(fired);
    ASSIGN_OR_RETURN(bool again, MarkTimerFired(tx, due[0].timer_id, t0_));
    EXPECT_FALSE(again);  // no longer pending
    RETURN_IF_ERROR(CancelTimers(tx, ida));
    RETURN_IF_ERROR(CancelTimers(tx, idb, "NOTIFICATION_DUTY"));
    return EarliestPendingTimer(tx);
  });
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(*next, t0_ + absl::Hours(3));
  auto with_timers =
      db_->Read([&](Tx& tx) { return LoadOrderWithTimers(tx, ida); });
  ASSERT_TRUE(with_timers.ok());
  ASSERT_EQ(with_timers->timers_size(), 1);  // the fired one; cancelled hidden
  EXPECT_TRUE(with_timers->timers(0).fired());
}

TEST_F(OrdersStoreTest, FindOrdersFiltersMostRecentlyUpdatedFirst) {
  v1::Order dvpo = NewOrder(v1::ORDER_TYPE_DVPO);
  v1::Order spo = NewOrder(v1::ORDER_TYPE_SPO);
  v1::Order elsewhere = NewOrder(v1::ORDER_TYPE_SPO, "GMP");
  ASSERT_TRUE(Save(dvpo, t0_).ok());
  ASSERT_TRUE(Save(spo, t0_ + absl::Hours(1)).ok());
  ASSERT_TRUE(Save(elsewhere, t0_ + absl::Hours(2)).ok());
  auto find = [&](const OrderFilter& f, int size) {
    paging::PageRequest page;
    page.size = size;
    auto ids = db_->Read([&](Tx& tx) { return FindOrders(tx, f, page); });
    std::vector<std::string> out;
    for (const OrderId& id : ids->items) out.push_back(id.value());
    return out;
  };
  OrderFilter all;
  EXPECT_THAT(find(all, 10), ElementsAre(elsewhere.order_id(), spo.order_id(),
                                         dvpo.order_id()));
  EXPECT_THAT(find(all, 1), ElementsAre(elsewhere.order_id()));
  OrderFilter wmp_spo;
  wmp_spo.area_code = "WMP";
  wmp_spo.order_type = v1::ORDER_TYPE_SPO;
  wmp_spo.state = v1::ORDER_STATE_APPLIED;
  wmp_spo.referral_id = referral_;
  EXPECT_THAT(find(wmp_spo, 10), ElementsAre(spo.order_id()));
  OrderFilter other_referral;
  other_referral.referral_id = ReferralId(NewUuid());
  EXPECT_TRUE(find(other_referral, 10).empty());
}

TEST_F(OrdersStoreTest, ConsiderationOpensOncePerReferralAndKind) {
  auto opened = db_->Write([&](Tx& tx) -> absl::StatusOr<std::vector<bool>> {
    std::vector<bool> out;
    for (v1::Consideration c : {v1::CONSIDERATION_DVDS, v1::CONSIDERATION_DVDS,
                                v1::CONSIDERATION_SPO}) {
      auto inserted = InsertConsideration(tx, ConsiderationId(NewUuid()),
                                          referral_, c, "WMP", t0_);
      if (!inserted.ok()) return inserted.status();
      out.push_back(*inserted);
    }
    return out;
  });
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_THAT(*opened, ElementsAre(true, false, true));
  auto items = db_->Read(
      [&](Tx& tx) { return ListConsiderationsOf(tx, referral_, {}); });
  ASSERT_EQ(items->items.size(), 2u);
  EXPECT_FALSE(items->next.has_value());
  EXPECT_EQ(items->items[0].consideration(), v1::CONSIDERATION_SPO);
  EXPECT_TRUE(items->items[0].open());
  EXPECT_EQ(timeutil::FromTimestamp(items->items[0].opened_at()), t0_);
}

}  // namespace
}  // namespace signpost::orders
